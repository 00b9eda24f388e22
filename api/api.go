// Package api holds what every Garde HTTP endpoint shares: the JSON body of
// answers and errors (`{"error":{"code":…,"message":…}}`, with the status the
// code maps to in garde.ErrorStatus), and request ids. Error bodies carry only
// the public message of a garde.Error: internal causes are logged, never sent.
package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"

	"github.com/garde-privacy/garde"
)

// ErrorBody is the JSON shape of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is a machine-readable code and a message safe to show.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Detail returns the public code and message of err.
func Detail(err error) ErrorDetail {
	return ErrorDetail{Code: garde.ErrorCode(err), Message: garde.ErrorMessage(err)}
}

// Error writes err as a JSON error answer. An internal error is logged with
// its cause (which holds no personal data by the garde.Error contract).
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	d := Detail(err)
	status := garde.ErrorStatus(d.Code)
	if status >= 500 && log != nil {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request_id", RequestID(r.Context()), "code", d.Code, "err", err)
	}
	if d.Code == garde.ETooMany || d.Code == garde.EUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	JSON(w, status, ErrorBody{Error: d})
}

// JSON writes v as a JSON answer with the given status (encoding/json, which
// honours omitzero).
func JSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

type requestIDKey struct{}

// WithRequestID gives every request an opaque id, sent back as
// X-Request-Id, for logs and audit entries.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := garde.RandomID()[:16]
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// RequestID returns the request's id, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// RemoteHost is the address a request came from, without its port ("" when
// unknown): the source of audit entries and of hashed IP proofs.
func RemoteHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return ""
}
