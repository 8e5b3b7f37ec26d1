// Package lepton connects Go programs to a server of the Lepton AI Infrastructure Standard
// and reads the errors it answers with. The contracts themselves are the generated packages
// under lepton.ai/generated/go/lepton/<layer>/v1; the inference package adds typed tensors,
// and the data package Arrow Flight reads and the content digest.
package lepton

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the ErrorInfo domain of every error a Lepton server answers with
// (spec/general.md).
const ErrorDomain = "lepton.ai"

// Dial opens a plaintext connection to address ("host:port"), for a server on loopback or
// behind a trusted proxy. With a non-empty token every call carries it as a bearer token.
// The options come after the defaults, so they can replace them (TLS credentials, say).
func Dial(address, token string, options ...grpc.DialOption) (*grpc.ClientConn, error) {
	defaults := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if token != "" {
		defaults = append(defaults, grpc.WithPerRPCCredentials(bearer(token)))
	}
	return grpc.NewClient(address, append(defaults, options...)...)
}

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity is false: Dial is for plaintext connections, and a caller that
// adds TLS credentials gets the token sent over them too.
func (b bearer) RequireTransportSecurity() bool { return false }

// FieldViolation is one entry of the google.rpc.BadRequest an error carries.
type FieldViolation struct {
	Field       string
	Description string
}

// Error is a failed call as the standard describes it: the status code, its message, and
// the reason of its google.rpc.ErrorInfo, which tells errors apart without parsing prose.
type Error struct {
	Code       codes.Code
	Message    string
	Reason     string // empty when the status carries no ErrorInfo
	Domain     string
	Metadata   map[string]string
	Violations []FieldViolation
	status     *status.Status
}

// GRPCStatus is the status the error was read from, so status.Code and status.FromError
// work on it as on the error grpc-go returned.
func (e *Error) GRPCStatus() *status.Status {
	if e.status == nil {
		return status.New(e.Code, e.Message)
	}
	return e.status
}

func (e *Error) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s [%s]: %s", e.Code, e.Reason, e.Message)
}

// AsError reads the status of a failed call: false when err is nil or not a gRPC status.
func AsError(err error) (*Error, bool) {
	if err == nil {
		return nil, false
	}
	st, ok := status.FromError(err)
	if !ok {
		return nil, false
	}
	found := &Error{Code: st.Code(), Message: st.Message(), status: st}
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.ErrorInfo:
			if found.Reason == "" {
				found.Reason, found.Domain, found.Metadata = d.GetReason(), d.GetDomain(), d.GetMetadata()
			}
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				found.Violations = append(found.Violations, FieldViolation{v.GetField(), v.GetDescription()})
			}
		}
	}
	return found, true
}

// ReasonOf is the ErrorInfo reason of err, or "" when it has none.
func ReasonOf(err error) string {
	if e, ok := AsError(err); ok {
		return e.Reason
	}
	return ""
}

// ParseStreamError reads the status an OIP stream reports in a response's error_message
// ("CODE [REASON]: message", spec/inference.md INF-054).
func ParseStreamError(message string) *Error {
	e := &Error{Code: codes.Unknown, Message: message}
	head, rest, found := strings.Cut(message, ": ")
	if !found {
		return e
	}
	name, reason, hasReason := strings.Cut(head, " [")
	code, known := codeNames[name]
	if !known {
		return e
	}
	e.Code, e.Message = code, rest
	if hasReason && strings.HasSuffix(reason, "]") {
		e.Reason = strings.TrimSuffix(reason, "]")
		e.Domain = ErrorDomain
	}
	return e
}

// codeNames are the canonical names of the status codes (grpc/doc/statuscodes.md).
var codeNames = map[string]codes.Code{
	"OK": codes.OK, "CANCELLED": codes.Canceled, "UNKNOWN": codes.Unknown,
	"INVALID_ARGUMENT": codes.InvalidArgument, "DEADLINE_EXCEEDED": codes.DeadlineExceeded,
	"NOT_FOUND": codes.NotFound, "ALREADY_EXISTS": codes.AlreadyExists,
	"PERMISSION_DENIED": codes.PermissionDenied, "RESOURCE_EXHAUSTED": codes.ResourceExhausted,
	"FAILED_PRECONDITION": codes.FailedPrecondition, "ABORTED": codes.Aborted,
	"OUT_OF_RANGE": codes.OutOfRange, "UNIMPLEMENTED": codes.Unimplemented,
	"INTERNAL": codes.Internal, "UNAVAILABLE": codes.Unavailable, "DATA_LOSS": codes.DataLoss,
	"UNAUTHENTICATED": codes.Unauthenticated,
}

// CodeName is the canonical name of code ("INVALID_ARGUMENT"), as the standard's texts and
// the conformance suite's tables spell it.
func CodeName(code codes.Code) string {
	for name, c := range codeNames {
		if c == code {
			return name
		}
	}
	return code.String()
}
