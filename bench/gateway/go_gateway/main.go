// go_gateway: the yardstick of the hot-path issue (issue 15). A generic, descriptor-driven gRPC to
// REST gateway of the kind a team writes in Go in a day: grpc-go, net/http's keep-alive client and
// encoding/json, with every RPC's mapping read at start from the same protos the C++ gateway reads
// (google.api.http, aarthik.gateway.v1.route and .field). bench/gateway/run.py's scenario g runs it
// and the C++ gateway against one sandbox with one load generator, one after the other, and
// compares their CPU per RPC. It is a benchmark subject, not a product: no retries, metrics,
// authorization or token refresh beyond minting a session once per borrower (and again after a 401).
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o go_gateway bench/gateway/go_gateway/*.go
//	protoc -I proto -I <googleapis> --include_imports --descriptor_set_out=api.pb proto/aarthik/*/v1/*.proto
//	AARTHIK_API_KEY=sk_test_... go_gateway -listen 127.0.0.1:0 -upstream http://127.0.0.1:8080 -descriptors api.pb
//
// Prints `listening HOST:PORT` first, as the project's own servers do.
//
// What it maps, as the C++ gateway does: path fields from the request, the remaining set fields of
// a GET or DELETE as query parameters, the request (or its `body` field) as a JSON body otherwise,
// the field marked borrower_key never sent; Authorization with the API key or the borrower's session
// token; X-Correlation-ID and, on writes, Idempotency-Key from the caller's metadata or random; the
// headless and hybrid envelopes unwrapped into `response_body`; enums in the platform's spelling
// (the value's name without the enum's prefix, or its wire_value); the platform's errors as gRPC
// codes by HTTP status.
package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/runtime/protoimpl"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// codec is grpc-go's proto codec on the current protobuf API, which the dynamic messages need (Debian's
// grpc-go 1.33 still marshals through the older one, and its health messages only have that one).
type codec struct{}

func (codec) Marshal(v interface{}) ([]byte, error)      { return proto.Marshal(asMessage(v)) }
func (codec) Unmarshal(data []byte, v interface{}) error { return proto.Unmarshal(data, asMessage(v)) }
func (codec) Name() string                               { return "proto" }

func asMessage(v interface{}) proto.Message {
	if m, ok := v.(proto.Message); ok {
		return m
	}
	return protoimpl.X.ProtoMessageV2Of(v)
}

// route is one RPC's REST mapping, read from its options.
type route struct {
	verb, path, body, responseBody string
	auth, envelope, mutation       string
	in, out                        protoreflect.MessageDescriptor
	borrower                       protoreflect.FieldDescriptor // the field marked borrower_key
}

// options reads extensions off descriptors whose options were parsed without knowing them.
type options struct{ types *protoregistry.Types }

func (o options) get(opts proto.Message, name protoreflect.FullName) protoreflect.Message {
	if opts == nil {
		return nil
	}
	raw, _ := proto.Marshal(opts)
	parsed := opts.ProtoReflect().New().Interface()
	if (proto.UnmarshalOptions{Resolver: o.types}).Unmarshal(raw, parsed) != nil {
		return nil
	}
	// Ranged rather than proto.GetExtension: the extensions extend the set's own copy of
	// descriptor.proto, not the generated one.
	var found protoreflect.Message
	parsed.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.IsExtension() && fd.FullName() == name {
			found = v.Message()
		}
		return found == nil
	})
	return found
}

func field(m protoreflect.Message, name string) protoreflect.Value {
	return m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(name)))
}

func enumName(m protoreflect.Message, name string) string {
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
	return string(fd.Enum().Values().ByNumber(m.Get(fd).Enum()).Name())
}

type gateway struct {
	upstream string
	apiKey   string
	client   *http.Client
	opts     options
	sessions sync.Map // borrower external ID -> *session
	enums    sync.Map // protoreflect.EnumDescriptor -> map[string]protoreflect.EnumNumber (platform spellings)
	names    sync.Map // protoreflect.EnumDescriptor -> map[protoreflect.EnumNumber]string (the reverse)
}

type session struct {
	mu    sync.Mutex
	token string
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "gRPC listen address")
	upstream := flag.String("upstream", "", "platform base URL, e.g. http://127.0.0.1:8080")
	descriptors := flag.String("descriptors", "", "FileDescriptorSet of the API (protoc --include_imports)")
	flag.Parse()
	raw, err := ioutil.ReadFile(*descriptors)
	if err != nil {
		log.Fatal(err)
	}
	set := &descriptorpb.FileDescriptorSet{}
	if err := proto.Unmarshal(raw, set); err != nil {
		log.Fatal(err)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		log.Fatal(err)
	}
	types := new(protoregistry.Types)
	files.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		for i := 0; i < f.Extensions().Len(); i++ {
			types.RegisterExtension(dynamicpb.NewExtensionType(f.Extensions().Get(i)))
		}
		return true
	})
	encoding.RegisterCodec(codec{})
	rand.Seed(time.Now().UnixNano())
	g := &gateway{
		upstream: strings.TrimSuffix(*upstream, "/"),
		apiKey:   os.Getenv("AARTHIK_API_KEY"),
		client: &http.Client{Transport: &http.Transport{
			MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: 90 * time.Second}},
		opts: options{types},
	}
	server := grpc.NewServer()
	healthpb.RegisterHealthServer(server, health.NewServer())
	files.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		for i := 0; i < f.Services().Len(); i++ {
			if desc := g.serviceDesc(f.Services().Get(i)); len(desc.Methods) > 0 {
				server.RegisterService(desc, struct{}{})
			}
		}
		return true
	})
	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening %s\n", listener.Addr())
	os.Stdout.Sync()
	log.Fatal(server.Serve(listener))
}

// serviceDesc maps every unary method of sd that has an HTTP rule.
func (g *gateway) serviceDesc(sd protoreflect.ServiceDescriptor) *grpc.ServiceDesc {
	desc := &grpc.ServiceDesc{ServiceName: string(sd.FullName()), HandlerType: (*interface{})(nil)}
	for i := 0; i < sd.Methods().Len(); i++ {
		md := sd.Methods().Get(i)
		rule := g.opts.get(md.Options(), "google.api.http")
		if rule == nil || md.IsStreamingClient() || md.IsStreamingServer() {
			continue
		}
		r := &route{in: md.Input(), out: md.Output(), body: field(rule, "body").String(),
			responseBody: field(rule, "response_body").String()}
		for _, verb := range []string{"get", "put", "post", "delete", "patch"} {
			if p := field(rule, verb).String(); p != "" {
				r.verb, r.path = strings.ToUpper(verb), p
			}
		}
		if ro := g.opts.get(md.Options(), "aarthik.gateway.v1.route"); ro != nil {
			r.auth, r.envelope, r.mutation = enumName(ro, "auth"), enumName(ro, "envelope"), enumName(ro, "mutation")
		}
		for j := 0; j < r.in.Fields().Len(); j++ {
			fd := r.in.Fields().Get(j)
			if fo := g.opts.get(fd.Options(), "aarthik.gateway.v1.field"); fo != nil && field(fo, "borrower_key").Bool() {
				r.borrower = fd
			}
		}
		desc.Methods = append(desc.Methods, grpc.MethodDesc{MethodName: string(md.Name()),
			Handler: func(_ interface{}, ctx context.Context, dec func(interface{}) error,
				_ grpc.UnaryServerInterceptor) (interface{}, error) {
				in := dynamicpb.NewMessage(r.in)
				if err := dec(in); err != nil {
					return nil, err
				}
				return g.call(ctx, r, in)
			}})
	}
	return desc
}

// randomHex draws IDs from math/rand, not crypto/rand (a getrandom call each), as the C++ gateway
// draws them from a seeded Mersenne Twister.
func randomHex(bytes int) string {
	b := make([]byte, bytes)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func firstMetadata(ctx context.Context, key string) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if values := md.Get(key); len(values) > 0 {
		return values[0]
	}
	return ""
}

// call maps one RPC onto its platform request and the answer back.
func (g *gateway) call(ctx context.Context, r *route, in *dynamicpb.Message) (proto.Message, error) {
	var borrower string
	pathFields := map[string]bool{}
	target := r.path
	for strings.Contains(target, "{") {
		open, end := strings.Index(target, "{"), strings.Index(target, "}")
		name := target[open+1 : end]
		fd := r.in.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return nil, status.Errorf(codes.Internal, "path field %s not in %s", name, r.in.FullName())
		}
		value := in.Get(fd).String()
		if value == "" {
			return nil, status.Errorf(codes.InvalidArgument, "%s is required", name)
		}
		pathFields[name] = true
		target = target[:open] + url.PathEscape(value) + target[end+1:]
	}
	if r.borrower != nil {
		borrower = in.Get(r.borrower).String()
		pathFields[string(r.borrower.Name())] = true
	}
	var body []byte
	if r.verb == "GET" || r.verb == "DELETE" {
		query := url.Values{}
		in.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			if !pathFields[string(fd.Name())] && fd.Message() == nil && !fd.IsList() {
				query.Set(fd.JSONName(), g.scalarText(fd, v))
			}
			return true
		})
		if len(query) > 0 {
			target += "?" + query.Encode()
		}
	} else {
		source := in.ProtoReflect()
		if r.body != "*" && r.body != "" {
			source = in.Get(r.in.Fields().ByName(protoreflect.Name(r.body))).Message()
		}
		var err error
		if body, err = json.Marshal(g.toJSON(source, pathFields)); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
	}
	answer, err := g.exchange(ctx, r, target, body, borrower)
	if err != nil {
		return nil, err
	}
	return g.decode(r, answer)
}

// exchange sends the request with the route's credential; a borrower's session is minted on first
// use and once more when the platform refuses it.
func (g *gateway) exchange(ctx context.Context, r *route, target string, body []byte, borrower string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		token := g.apiKey
		if r.auth == "AUTH_MODE_BORROWER_SESSION" {
			var err error
			if token, err = g.sessionToken(ctx, borrower, attempt > 0); err != nil {
				return nil, err
			}
		}
		headers := http.Header{"Authorization": {"Bearer " + token}}
		if correlation := firstMetadata(ctx, "x-correlation-id"); correlation != "" {
			headers.Set("X-Correlation-ID", correlation)
		} else {
			headers.Set("X-Correlation-ID", randomHex(16))
		}
		if r.mutation != "MUTATION_READ" {
			key := firstMetadata(ctx, "idempotency-key")
			if key == "" {
				key = randomHex(16)
			}
			headers.Set("Idempotency-Key", key)
		}
		code, answer, err := g.send(ctx, r.verb, target, body, headers)
		if err != nil {
			return nil, err
		}
		if code == http.StatusUnauthorized && r.auth == "AUTH_MODE_BORROWER_SESSION" && attempt == 0 {
			continue
		}
		if code/100 != 2 {
			return nil, platformError(code, answer)
		}
		return answer, nil
	}
}

func (g *gateway) send(ctx context.Context, verb, target string, body []byte, headers http.Header) (int, []byte, error) {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
		headers.Set("Content-Type", "application/json")
	}
	request, err := http.NewRequestWithContext(ctx, verb, g.upstream+target, reader)
	if err != nil {
		return 0, nil, status.Error(codes.Internal, err.Error())
	}
	request.Header = headers
	response, err := g.client.Do(request)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return 0, nil, status.Error(codes.DeadlineExceeded, "deadline exceeded")
		}
		return 0, nil, status.Error(codes.Unavailable, err.Error())
	}
	defer response.Body.Close()
	answer, err := ioutil.ReadAll(response.Body)
	if err != nil {
		return 0, nil, status.Error(codes.Unavailable, err.Error())
	}
	return response.StatusCode, answer, nil
}

func (g *gateway) sessionToken(ctx context.Context, borrower string, renew bool) (string, error) {
	if borrower == "" {
		return "", status.Error(codes.InvalidArgument, "borrower_external_id is required")
	}
	entry, _ := g.sessions.LoadOrStore(borrower, &session{})
	s := entry.(*session)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && !renew {
		return s.token, nil
	}
	body, _ := json.Marshal(map[string]string{"borrowerExternalID": borrower})
	code, answer, err := g.send(ctx, "POST", "/api/v1/headless/sessions", body, http.Header{
		"Authorization": {"Bearer " + g.apiKey}, "Idempotency-Key": {randomHex(16)}})
	if err != nil {
		return "", err
	}
	if code/100 != 2 {
		return "", platformError(code, answer)
	}
	var minted struct {
		Data struct {
			SessionToken string `json:"sessionToken"`
		} `json:"data"`
	}
	if json.Unmarshal(answer, &minted) != nil || minted.Data.SessionToken == "" {
		return "", status.Error(codes.Internal, "session answer without sessionToken")
	}
	s.token = minted.Data.SessionToken
	return s.token, nil
}

func platformError(code int, answer []byte) error {
	var envelope struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	json.Unmarshal(answer, &envelope)
	grpcCode := codes.Unknown
	switch {
	case code == 400 || code == 422:
		grpcCode = codes.InvalidArgument
	case code == 401:
		grpcCode = codes.Unauthenticated
	case code == 403:
		grpcCode = codes.PermissionDenied
	case code == 404:
		grpcCode = codes.NotFound
	case code == 409:
		grpcCode = codes.Aborted
	case code == 429:
		grpcCode = codes.ResourceExhausted
	case code >= 500:
		grpcCode = codes.Unavailable
	}
	return status.Errorf(grpcCode, "platform %d %s: %s", code, envelope.Error.Code, envelope.Error.Message)
}
