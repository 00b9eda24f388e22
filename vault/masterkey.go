package vault

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/garde-privacy/garde"
)

// EnvMasterKey is the environment variable MasterKeyFromEnv reads.
const EnvMasterKey = "GARDE_MASTER_KEY"

// MasterKey is the key that wraps every other key. It never encrypts data and
// is never stored in the key store. Printing it with fmt or slog shows
// "MasterKey(redacted)", never the key.
type MasterKey [32]byte

// ID returns the key's public name (see MasterKeyID).
func (k MasterKey) ID() MasterKeyID {
	d, err := hkdf.Key(sha256.New, k[:], nil, "garde master-key id", 32)
	if err != nil {
		panic(err) // only for lengths HKDF-SHA256 cannot produce
	}
	sum := sha256.Sum256(d)
	var id MasterKeyID
	copy(id[:], sum[:])
	return id
}

// String, GoString and Format keep the key out of logs and error messages.
func (MasterKey) String() string               { return "MasterKey(redacted)" }
func (MasterKey) GoString() string             { return "MasterKey(redacted)" }
func (k MasterKey) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

func (id MasterKeyID) String() string { return hex.EncodeToString(id[:]) }

func newMasterKey() MasterKey {
	var k MasterKey
	rand.Read(k[:])
	return k
}

func (k MasterKey) hex() string { return hex.EncodeToString(k[:]) }

// set copies b into k and reports whether b had the right length.
func (k *MasterKey) set(b []byte) bool {
	copy(k[:], b)
	return len(b) == len(k)
}

func errKeyFormat(what string) *garde.Error {
	return garde.Errorf(garde.EInvalid, "%s must be 32 bytes, hex or base64 encoded", what)
}

func errKeyFile(path, format string, a ...any) *garde.Error {
	return garde.Errorf(garde.EInvalid, "master key file %s: %s", path, fmt.Sprintf(format, a...))
}

// ParseMasterKey decodes a master key written as 64 hex digits or as base64
// (standard or URL alphabet, padded or not). Surrounding white space is
// ignored. Its errors never quote the input.
func ParseMasterKey(s string) (MasterKey, error) {
	var k MasterKey
	s = strings.TrimSpace(s)
	if len(s) == 2*len(k) {
		b, err := hex.DecodeString(s)
		if err == nil && k.set(b) {
			return k, nil
		}
		return MasterKey{}, errKeyFormat("the master key")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && k.set(b) {
			return k, nil
		}
	}
	return MasterKey{}, errKeyFormat("the master key")
}

// MasterKeyFromEnv reads the master key from GARDE_MASTER_KEY (see
// ParseMasterKey for the accepted forms). ok is false when the variable is
// unset or empty.
func MasterKeyFromEnv() (k MasterKey, ok bool, err error) {
	s, set := os.LookupEnv(EnvMasterKey)
	if !set || s == "" {
		return MasterKey{}, false, nil
	}
	if k, err = ParseMasterKey(s); err != nil {
		return MasterKey{}, true, errKeyFormat(EnvMasterKey)
	}
	return k, true, nil
}

// CreateMasterKeyFile writes a fresh random master key to path, in hex on one
// line, with mode 0600, and makes it durable (file and directory synced)
// before returning. It never overwrites: if path exists it fails with
// garde.EConflict.
func CreateMasterKeyFile(path string) (MasterKey, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return MasterKey{}, garde.Errorf(garde.EConflict, "master key file %s already exists; refusing to overwrite it", path)
	}
	if err != nil {
		return MasterKey{}, garde.Wrap(garde.EInvalid, err, "cannot create master key file "+path)
	}
	k := newMasterKey()
	_, err = io.WriteString(f, k.hex()+"\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(path)
		return MasterKey{}, garde.Wrap(garde.EInternal, err, "cannot write master key file "+path)
	}
	return k, nil
}

// LoadMasterKeyFile reads a master key file written by CreateMasterKeyFile.
// It refuses a file that its group or others may read or write (the error
// names the path and the fix, chmod 600), and a file that is not one line of
// 64 hex digits.
func LoadMasterKeyFile(path string) (MasterKey, error) {
	f, err := os.Open(path)
	if err != nil {
		code := garde.EInvalid
		if errors.Is(err, fs.ErrNotExist) {
			code = garde.ENotFound
		}
		return MasterKey{}, garde.Wrap(code, err, "cannot open master key file "+path)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return MasterKey{}, garde.Wrap(garde.EInvalid, err, "cannot open master key file "+path)
	}
	if !fi.Mode().IsRegular() {
		return MasterKey{}, errKeyFile(path, "not a regular file")
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return MasterKey{}, errKeyFile(path, "mode %04o lets other users read or change it; run: chmod 600 %s", perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 256))
	if err != nil {
		return MasterKey{}, garde.Wrap(garde.EInvalid, err, "cannot read master key file "+path)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	var k MasterKey
	raw, err := hex.DecodeString(s)
	if err != nil || !k.set(raw) {
		// never quote the content or the decoder's error: it holds key material
		return MasterKey{}, errKeyFile(path, "must hold one line of 64 hex digits")
	}
	return k, nil
}

// syncDir makes a directory entry (a created or renamed file) durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for sync there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
