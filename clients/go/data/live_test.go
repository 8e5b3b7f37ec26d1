package data

import (
	"strings"
	"testing"

	"lepton.ai/clients/go/internal/livetest"
	datav1 "lepton.ai/generated/go/lepton/data/v1"
)

// TestFlightReadsDigestAsPython reads each version the harness wrote (LEPTON_DIGEST_CASES:
// "version=digest" pairs separated by ";", each digest computed in Python over the Python
// SDK's read of the version) through Arrow Flight, and computes its content digest here:
// it must equal Python's and the version's own content_digest.
func TestFlightReadsDigestAsPython(t *testing.T) {
	server := livetest.Connect(t)
	cases := strings.Split(livetest.Env(t, "LEPTON_DIGEST_CASES"), ";")
	catalog := datav1.NewDatasetServiceClient(server.Conn)
	for _, pair := range cases {
		name, python, found := strings.Cut(pair, "=")
		if !found {
			t.Fatalf("LEPTON_DIGEST_CASES entry %q is not version=digest", pair)
		}
		t.Run(name, func(t *testing.T) {
			ctx := livetest.Context(t)
			read, err := ReadFlight(ctx, server.Conn, server.Address, server.Token, &datav1.IssueFlightTicketRequest{Name: name})
			if err != nil {
				t.Fatal(err)
			}
			defer read.Table.Release()
			if read.Table.NumRows() != read.Header.GetTotalRowCount() {
				t.Fatalf("%d rows, the header says %d", read.Table.NumRows(), read.Header.GetTotalRowCount())
			}
			digest, err := ContentDigest(read.Table)
			if err != nil {
				t.Fatal(err)
			}
			version, err := catalog.GetVersion(ctx, &datav1.GetVersionRequest{Name: read.Header.GetVersion()})
			if err != nil {
				t.Fatal(err)
			}
			if digest != python || digest != version.GetVersion().GetContentDigest().GetHex() {
				t.Fatalf("Go %s, Python %s, server %s", digest, python, version.GetVersion().GetContentDigest().GetHex())
			}
		})
	}
}

// TestListVersionsPages walks a dataset's versions three at a time (LEPTON_PAGED_DATASET
// holds seven): every version once, and the last page without a token.
func TestListVersionsPages(t *testing.T) {
	server := livetest.Connect(t)
	parent := livetest.Env(t, "LEPTON_PAGED_DATASET")
	catalog := datav1.NewDatasetServiceClient(server.Conn)
	var names []string
	pages := 0
	for token := ""; pages == 0 || token != ""; pages++ {
		page, err := catalog.ListVersions(livetest.Context(t), &datav1.ListVersionsRequest{Parent: parent, PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.GetVersions()) > 3 {
			t.Fatalf("page %d holds %d versions", pages, len(page.GetVersions()))
		}
		for _, version := range page.GetVersions() {
			names = append(names, version.GetName())
		}
		token = page.GetNextPageToken()
	}
	seen := map[string]bool{}
	for _, name := range names {
		seen[name] = true
	}
	if len(names) != 7 || len(seen) != 7 || pages != 3 {
		t.Fatalf("%d pages, versions %v", pages, names)
	}
}
