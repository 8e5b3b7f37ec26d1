// Package data reads dataset versions of a Lepton server through Arrow Flight, and computes
// a table's content digest as spec/data.md §4.3 defines it, so a client can check what it
// read against the version's content_digest.
package data

import (
	"context"
	"fmt"
	"net/url"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	lepton "lepton.ai/clients/go"
	datav1 "lepton.ai/generated/go/lepton/data/v1"
)

// Read is a whole version read: its header and its rows.
type Read struct {
	Header *datav1.ReadVersionHeader
	Table  arrow.Table
}

// ReadFlight reads the rows `request` selects: IssueFlightTicket on conn, then DoGet at
// the first location the ticket names ("arrow-flight-reuse-connection://?" means
// fallback, the address conn was dialled with). token, when set, goes with the Flight call
// as with the gRPC ones. The caller releases the table.
func ReadFlight(ctx context.Context, conn grpc.ClientConnInterface, fallback, token string, request *datav1.IssueFlightTicketRequest) (*Read, error) {
	ticket, err := datav1.NewDatasetServiceClient(conn).IssueFlightTicket(ctx, request)
	if err != nil {
		if e, ok := lepton.AsError(err); ok {
			return nil, e
		}
		return nil, err
	}
	if len(ticket.GetLocations()) == 0 {
		return nil, fmt.Errorf("the ticket names no location")
	}
	address, err := flightAddress(ticket.GetLocations()[0], fallback)
	if err != nil {
		return nil, err
	}
	client, err := flight.NewClientWithMiddleware(address, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer client.Close()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	stream, err := client.DoGet(ctx, &flight.Ticket{Ticket: ticket.GetTicket()})
	if err != nil {
		return nil, err
	}
	reader, err := flight.NewRecordReader(stream)
	if err != nil {
		return nil, err
	}
	defer reader.Release()
	var records []arrow.RecordBatch
	defer func() {
		for _, record := range records {
			record.Release()
		}
	}()
	for reader.Next() {
		record := reader.RecordBatch()
		record.Retain()
		records = append(records, record)
	}
	if err := reader.Err(); err != nil {
		return nil, err
	}
	return &Read{Header: ticket.GetHeader(), Table: array.NewTableFromRecords(reader.Schema(), records)}, nil
}

// flightAddress is the host:port of a plaintext Flight location.
func flightAddress(location, fallback string) (string, error) {
	parsed, err := url.Parse(location)
	if err != nil {
		return "", fmt.Errorf("Flight location %q: %w", location, err)
	}
	switch parsed.Scheme {
	case "arrow-flight-reuse-connection":
		return fallback, nil
	case "grpc", "grpc+tcp":
		return parsed.Host, nil
	}
	return "", fmt.Errorf("Flight location %q: only plaintext grpc+tcp is supported here", location)
}
