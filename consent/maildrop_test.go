package consent

import (
	"context"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirNotifier(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	n := &DirNotifier{Dir: dir, From: "Garde <privacy@shop.example>"}
	if err := n.Notify(context.Background(), GuardianMail{To: "ana@example.com", Subject: "Votre code", Text: "Code : 123456", Lang: "fr"}); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), GuardianMail{To: "not an address", Subject: "x", Text: "y"}); err == nil {
		t.Error("a malformed recipient was accepted")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	fi, _ := os.Stat(files[0])
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	f, _ := os.Open(files[0])
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("To") != "<ana@example.com>" || !strings.Contains(msg.Header.Get("From"), "privacy@shop.example") {
		t.Errorf("headers %v", msg.Header)
	}
}
