// deadline_go: a second client implementation (grpc-go, Debian's golang-google-grpc-dev) for
// bench/gateway/deadline_abuse.py. gRPC's C++ and Go clients turn what a server sends around an
// expiring deadline (RST_STREAM, trailers) into status codes differently, so a code the gateway
// should never cause may show in one and not the other.
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o deadline_go bench/gateway/deadline_go/main.go
//	deadline_go -target 127.0.0.1:PORT -rpc features|state [-borrower B -journey J]
//	            -requests 20000 -concurrency 1000 -connections 4 -deadline 1ms
//
// Prints one JSON object: {"codes": {"DEADLINE_EXCEEDED": 19990, ...}, "messages": {...}}, the
// messages of every code but OK and DEADLINE_EXCEEDED with their counts. Requests are encoded by
// hand (two string fields at most), so that no generated code is needed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// rawCodec sends and receives message bytes as they are.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// appendString appends field `number` (wire type 2) holding `value`; values here are short.
func appendString(out []byte, number int, value string) []byte {
	return append(append(out, byte(number<<3|2), byte(len(value))), value...)
}

// codeNames spells the codes as gRPC's C++ API and aarthik-grpc-load do.
var codeNames = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN",
	codes.InvalidArgument: "INVALID_ARGUMENT", codes.DeadlineExceeded: "DEADLINE_EXCEEDED",
	codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED",
	codes.OutOfRange: "OUT_OF_RANGE", codes.Unimplemented: "UNIMPLEMENTED",
	codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE", codes.DataLoss: "DATA_LOSS",
	codes.Unauthenticated: "UNAUTHENTICATED",
}

func codeName(code codes.Code) string {
	if name, ok := codeNames[code]; ok {
		return name
	}
	return fmt.Sprintf("CODE_%d", code)
}

func main() {
	target := flag.String("target", "", "gateway address")
	rpc := flag.String("rpc", "features", "features (API key) or state (borrower session)")
	borrower := flag.String("borrower", "", "state: the borrower's external ID")
	journey := flag.String("journey", "", "state: the journey ID")
	requests := flag.Int("requests", 20000, "calls in all")
	concurrency := flag.Int("concurrency", 1000, "calls in flight")
	connections := flag.Int("connections", 4, "HTTP/2 connections")
	deadline := flag.Duration("deadline", time.Millisecond, "each call's deadline")
	flag.Parse()

	method, request := "/aarthik.hosted.v1.HostedService/GetFeatures", []byte{}
	if *rpc == "state" {
		method = "/aarthik.headless.v1.JourneysService/GetJourneyState"
		request = appendString(appendString(nil, 1, *borrower), 2, *journey)
	}
	var conns []*grpc.ClientConn
	for i := 0; i < *connections; i++ {
		conn, err := grpc.Dial(*target, grpc.WithInsecure())
		if err != nil {
			fmt.Fprintln(os.Stderr, "dial:", err)
			os.Exit(2)
		}
		defer conn.Close()
		conns = append(conns, conn)
	}

	var mu sync.Mutex
	seen := map[string]int{}
	messages := map[string]int{}
	slots := make(chan struct{}, *concurrency)
	var wg sync.WaitGroup
	for i := 0; i < *requests; i++ {
		slots <- struct{}{}
		wg.Add(1)
		go func(conn *grpc.ClientConn) {
			defer func() { <-slots; wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), *deadline)
			defer cancel()
			req, resp := request, []byte(nil)
			st := status.Convert(conn.Invoke(ctx, method, &req, &resp, grpc.ForceCodec(rawCodec{})))
			code := codeName(st.Code())
			mu.Lock()
			defer mu.Unlock()
			seen[code]++
			if st.Code() != codes.OK && st.Code() != codes.DeadlineExceeded {
				messages[code+": "+st.Message()]++
			}
		}(conns[i%len(conns)])
	}
	wg.Wait()
	out, _ := json.Marshal(map[string]interface{}{"codes": seen, "messages": messages})
	fmt.Println(string(out))
}
