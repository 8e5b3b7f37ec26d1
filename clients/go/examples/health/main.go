// Command health asks a server whether it is serving (grpc.health.v1), as a load balancer
// or an orchestrator's probe would:
//
//	go run ./examples/health -address 127.0.0.1:50051
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"google.golang.org/grpc/health/grpc_health_v1"

	lepton "lepton.ai/clients/go"
)

func main() {
	address := flag.String("address", "127.0.0.1:50051", "the server's host:port")
	service := flag.String("service", "", "a service's full name, or empty for the whole server")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx, *address, *service, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, address, service string, out io.Writer) error {
	conn, err := lepton.Dial(address, "")
	if err != nil {
		return err
	}
	defer conn.Close()
	response, err := grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: service})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\n", response.GetStatus())
	if response.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		return fmt.Errorf("not serving")
	}
	return nil
}
