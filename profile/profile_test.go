package profile

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
)

// plainOpener "opens" a value sealed as the subject, the path and the
// plaintext joined by '|', and refuses any other subject or path: what
// the vault's associated data enforces.
type plainOpener struct{}

func (plainOpener) Open(_ context.Context, s garde.SubjectID, field string, sealed []byte) ([]byte, error) {
	prefix := string(s) + "|" + field + "|"
	if len(sealed) < len(prefix) || string(sealed[:len(prefix)]) != prefix {
		return nil, errors.New("tampered")
	}
	return sealed[len(prefix):], nil
}

// OpenFields opens format 1 and the JSON form (the vault's own tests cover
// format 2, sealed at once).
func (o plainOpener) OpenFields(ctx context.Context, s garde.SubjectID, sealed []byte, fn func(string, []byte) error) error {
	return garde.SealedFields(sealed, func(path string, c []byte) error {
		plain, err := o.Open(ctx, s, path, c)
		if err != nil {
			return err
		}
		return fn(path, plain)
	})
}

// TestOpenSealedFields: an event's sealed fields are opened and put back
// where they were sent, whether stored in the binary format or as the JSON
// object written before it; fields that do not decode are an internal
// error, not a partial event.
func TestOpenSealedFields(t *testing.T) {
	s := garde.NewSubjectID()
	seal := func(path, plain string) []byte { return []byte(string(s) + "|" + path + "|" + plain) }
	var binary []byte
	binary = garde.AppendSealedField(binary, "properties.email", seal("properties.email", `"ada@example.org"`))
	binary = garde.AppendSealedField(binary, "context.ip", seal("context.ip", `"192.0.2.7"`))
	legacy := []byte(`{"properties.email":"` + base64.RawStdEncoding.EncodeToString(seal("properties.email", `"ada@example.org"`)) +
		`","context.ip":"` + base64.RawStdEncoding.EncodeToString(seal("context.ip", `"192.0.2.7"`)) + `"}`)
	want := Event{Type: "track", Properties: map[string]any{"total": 12.5, "email": "ada@example.org"},
		Context: map[string]any{"locale": "fr-FR", "ip": "192.0.2.7"}}

	r := &Reader{Opener: plainOpener{}}
	for name, sealed := range map[string][]byte{"binary": binary, "legacy JSON": legacy} {
		se := &StoredEvent{Subject: s, Type: "track", Properties: []byte(`{"total":12.5}`), Context: []byte(`{"locale":"fr-FR"}`), Sealed: sealed}
		got, err := r.open(context.Background(), se)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}

	for name, sealed := range map[string][]byte{"binary": binary[:len(binary)-3], "legacy JSON": legacy[:len(legacy)-3]} {
		se := &StoredEvent{Subject: s, Type: "track", Properties: []byte(`{}`), Context: []byte(`{}`), Sealed: sealed}
		if _, err := r.open(context.Background(), se); !errors.Is(err, garde.ErrSealedFields) || garde.ErrorMessage(err) != "a stored event is corrupt" {
			t.Errorf("%s, damaged: %v, want an internal error", name, err)
		}
	}
}
