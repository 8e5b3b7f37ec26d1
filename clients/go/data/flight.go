// Package data reads dataset versions of a Lepton server through Arrow Flight, and computes
// a table's content digest as spec/data.md §4.3 defines it, so a client can check what it
// read against the version's content_digest.
package data

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
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

// ReadFlight reads the rows `request` selects: IssueFlightTicket on conn, then DoGet at the
// locations the ticket names, in order, until one serves it. "arrow-flight-reuse-connection://?"
// means fallback, the address conn was dialled with. grpc+tcp locations are dialled in
// plaintext, grpc+tls ones with the system's roots; options come after those and can replace
// them. token, when set, goes with the Flight call as with the gRPC ones. The caller
// releases the table.
func ReadFlight(ctx context.Context, conn grpc.ClientConnInterface, fallback, token string, request *datav1.IssueFlightTicketRequest, options ...grpc.DialOption) (*Read, error) {
	ticket, err := datav1.NewDatasetServiceClient(conn).IssueFlightTicket(ctx, request)
	if err != nil {
		return nil, leptonError(err)
	}
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	var failures []error
	for _, location := range ticket.GetLocations() {
		table, err := doGet(ctx, location, fallback, ticket.GetTicket(), options)
		if err == nil {
			return &Read{Header: ticket.GetHeader(), Table: table}, nil
		}
		failures = append(failures, fmt.Errorf("%s: %w", location, err))
	}
	if len(failures) == 0 {
		return nil, fmt.Errorf("the ticket names no location")
	}
	return nil, errors.Join(failures...)
}

func doGet(ctx context.Context, location, fallback string, ticket []byte, options []grpc.DialOption) (arrow.Table, error) {
	address, secure, err := flightAddress(location, fallback)
	if err != nil {
		return nil, err
	}
	transport := insecure.NewCredentials()
	if secure {
		transport = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	dial := append([]grpc.DialOption{grpc.WithTransportCredentials(transport)}, options...)
	client, err := flight.NewClientWithMiddleware(address, nil, nil, dial...)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	stream, err := client.DoGet(ctx, &flight.Ticket{Ticket: ticket})
	if err != nil {
		return nil, leptonError(err)
	}
	reader, err := flight.NewRecordReader(stream)
	if err != nil {
		return nil, leptonError(err)
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
		return nil, leptonError(err)
	}
	return array.NewTableFromRecords(reader.Schema(), records), nil
}

func leptonError(err error) error {
	if e, ok := lepton.AsError(err); ok {
		return e
	}
	return err
}

// flightAddress is the host:port of a Flight location, and whether it wants TLS.
func flightAddress(location, fallback string) (string, bool, error) {
	parsed, err := url.Parse(location)
	if err != nil {
		return "", false, fmt.Errorf("Flight location %q: %w", location, err)
	}
	switch parsed.Scheme {
	case "arrow-flight-reuse-connection":
		return fallback, false, nil
	case "grpc", "grpc+tcp":
		return parsed.Host, false, nil
	case "grpc+tls":
		return parsed.Host, true, nil
	}
	return "", false, fmt.Errorf("Flight location %q: a scheme this client does not dial", location)
}
