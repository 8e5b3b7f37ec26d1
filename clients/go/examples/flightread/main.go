// Command flightread reads a dataset version through Arrow Flight and checks its content
// digest (spec/data.md §4.3) against the one the server recorded:
//
//	go run ./examples/flightread -address 127.0.0.1:50051 -version datasets/d/versions/v1
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	lepton "lepton.ai/clients/go"
	"lepton.ai/clients/go/data"
	datav1 "lepton.ai/generated/go/lepton/data/v1"
)

func main() {
	address := flag.String("address", "127.0.0.1:50051", "the server's host:port")
	token := flag.String("token", "", "bearer token, when the server requires one")
	version := flag.String("version", "", "a version or tag name, or a dataset's name for its head")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := run(ctx, *address, *token, *version, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, address, token, name string, out io.Writer) error {
	conn, err := lepton.Dial(address, token)
	if err != nil {
		return err
	}
	defer conn.Close()
	read, err := data.ReadFlight(ctx, conn, address, token, &datav1.IssueFlightTicketRequest{Name: name})
	if err != nil {
		return err
	}
	defer read.Table.Release()
	digest, err := data.ContentDigest(read.Table)
	if err != nil {
		return err
	}
	version, err := datav1.NewDatasetServiceClient(conn).GetVersion(ctx, &datav1.GetVersionRequest{Name: read.Header.GetVersion()})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %d rows, %d columns\n", read.Header.GetVersion(), read.Table.NumRows(), read.Table.NumCols())
	for _, field := range read.Table.Schema().Fields() {
		fmt.Fprintf(out, "  %s %s\n", field.Name, field.Type)
	}
	recorded := version.GetVersion().GetContentDigest().GetHex()
	if digest != recorded {
		return fmt.Errorf("content digest %s, the server recorded %s", digest, recorded)
	}
	fmt.Fprintf(out, "content digest %s matches\n", digest)
	return nil
}
