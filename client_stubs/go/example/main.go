// Command example calls the Aarthik gRPC gateway with the generated Go stubs: a write (CreateJourney,
// with an idempotency key), a read (GetJourneyState) and a call that fails, whose google.rpc ErrorInfo
// it prints. Every call has a deadline and an x-correlation-id.
//
// Usage: example -gateway 127.0.0.1:50051 [-borrower GO-123]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	commonv1 "aarthiklabs.com/gateway/client_stubs/go/aarthik/common/v1"
	headlessv1 "aarthiklabs.com/gateway/client_stubs/go/aarthik/headless/v1"
	"aarthiklabs.com/gateway/client_stubs/go/aarthikclient"
)

func main() {
	gateway := flag.String("gateway", "127.0.0.1:50051", "gateway gRPC address")
	borrower := flag.String("borrower", "GO-"+aarthikclient.NewUUID()[:8], "borrowerExternalID")
	flag.Parse()
	if err := run(*gateway, *borrower); err != nil {
		fmt.Println("go: FAILED:", err)
		os.Exit(1)
	}
	fmt.Println("go: example OK")
}

func run(gateway, borrower string) error {
	conn, err := aarthikclient.Dial(gateway)
	if err != nil {
		return err
	}
	defer conn.Close()
	journeys := headlessv1.NewJourneysServiceClient(conn)

	// A write: one idempotency key per logical operation, reused if we retried it.
	ctx, cancel := aarthikclient.CallContext(context.Background(), aarthikclient.CallOptions{
		Timeout: 10 * time.Second, CorrelationID: "go-example-" + aarthikclient.NewUUID()[:8],
		IdempotencyKey: aarthikclient.NewUUID()})
	defer cancel()
	var header metadata.MD
	created, err := journeys.CreateJourney(ctx, &headlessv1.CreateJourneyRequest{
		BorrowerExternalId: borrower,
		Journey:            &headlessv1.NewJourney{Type: commonv1.JourneyType_JOURNEY_TYPE_PERSONAL_LOAN},
	}, grpc.Header(&header))
	if err != nil {
		return fmt.Errorf("CreateJourney: %w", err)
	}
	journeyID := created.GetJourney().GetJourneyId()
	fmt.Printf("go: CreateJourney OK journey %s status %s (correlation %s)\n", journeyID,
		created.GetJourney().GetStatus(), first(header.Get(aarthikclient.CorrelationIDKey)))

	// A read.
	ctx, cancel = aarthikclient.CallContext(context.Background(), aarthikclient.CallOptions{Timeout: 5 * time.Second})
	defer cancel()
	state, err := journeys.GetJourneyState(ctx, &headlessv1.GetJourneyStateRequest{
		BorrowerExternalId: borrower, JourneyId: journeyID})
	if err != nil {
		return fmt.Errorf("GetJourneyState: %w", err)
	}
	fmt.Printf("go: GetJourneyState OK status %s next %s\n", state.GetState().GetStatus(),
		state.GetState().GetNextAction())

	// A call that fails: a journey that does not exist. The platform's error code is ErrorInfo.reason.
	ctx, cancel = aarthikclient.CallContext(context.Background(), aarthikclient.CallOptions{Timeout: 5 * time.Second})
	defer cancel()
	_, err = journeys.GetJourneyState(ctx, &headlessv1.GetJourneyStateRequest{
		BorrowerExternalId: borrower, JourneyId: aarthikclient.NewUUID()})
	if err == nil {
		return fmt.Errorf("GetJourneyState of an unknown journey succeeded")
	}
	info, ok := aarthikclient.ErrorInfo(err)
	if !ok {
		return fmt.Errorf("no ErrorInfo in %v", err)
	}
	fmt.Printf("go: GetJourneyState(unknown journey) FAILED %s ErrorInfo reason=%s domain=%s\n",
		status.Code(err), info.GetReason(), info.GetDomain())
	return nil
}

func first(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}
