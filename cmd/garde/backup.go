package main

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/store"
)

// keyBackupDays is how long a key backup may be kept. Erasure destroys a
// person's key; a key backup taken before would bring it back, so key
// backups are short-lived, while data backups — useless without the keys —
// may live as long as the retention policy says.
const keyBackupDays = 30

func newBackupCmd() *cobra.Command {
	var dataDir, out, keysOut string
	cmd := &cobra.Command{
		Use:   "backup --out DIR [--keys-out DIR]",
		Short: "Copy the data database, and the key database apart; keep key backups at most 30 days",
		Long: `Write a consistent copy of the data database (SQLite VACUUM INTO, safe on a running instance) to
--out, and of the key database only to --keys-out, which must not be --out nor inside it: a data backup
never carries keys, so once a person is erased (their key destroyed), a data backup taken before cannot
be read.

Keep key backups at most 30 days and store them apart from the data backups: a key backup restored after
an erasure would bring the erased key back. The master key (GARDE_MASTER_KEY or master.key) is not
copied: keep it in your secret store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if out == "" {
				return garde.Errorf(garde.EInvalid, "--out is required")
			}
			dirs, err := backupDirs(dataDir, out, keysOut)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			dataOut := filepath.Join(dirs.out, dataFile)
			if err := backupDB(ctx, filepath.Join(dataDir, dataFile), "data", dataOut); err != nil {
				return err
			}
			fmt.Fprintf(w, "data: %s (no keys in it)\n", dataOut)
			if dirs.keys == "" {
				fmt.Fprintln(w, "keys: not copied (no --keys-out)")
				return nil
			}
			keysOutFile := filepath.Join(dirs.keys, keysFile)
			if err := backupDB(ctx, filepath.Join(dataDir, keysFile), "keys", keysOutFile); err != nil {
				return err
			}
			expires := time.Now().AddDate(0, 0, keyBackupDays).Format("2006-01-02")
			fmt.Fprintf(w, "keys: %s\n", keysOutFile)
			fmt.Fprintf(w, "Keep key backups at most %d days: delete %s by %s. Store them apart from the data backups; the master key is not copied.\n",
				keyBackupDays, keysOutFile, expires)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", "./garde-data", "the data directory (databases and the master key file)")
	cmd.Flags().StringVar(&out, "out", "", "where to write the data backup (a directory)")
	cmd.Flags().StringVar(&keysOut, "keys-out", "", "where to write the key backup (a directory apart from --out); none when empty")
	return cmd
}

type backupTargets struct{ out, keys string }

// backupDirs creates the output directories (0700) and checks that the key
// backup is neither the data backup's directory nor inside it, and that
// neither is the data directory, after resolving symbolic links.
func backupDirs(dataDir, out, keysOut string) (backupTargets, error) {
	data, err := realDir(dataDir, false)
	if err != nil {
		return backupTargets{}, garde.Wrap(garde.ENotFound, err, "--data: no such directory")
	}
	var t backupTargets
	if t.out, err = realDir(out, true); err != nil {
		return t, garde.Wrap(garde.EInvalid, err, "--out: cannot create the directory")
	}
	if t.out == data {
		return t, garde.Errorf(garde.EInvalid, "--out must not be the data directory")
	}
	if keysOut == "" {
		return t, nil
	}
	if within(keysOut, out) {
		return t, garde.Errorf(garde.EInvalid, "--keys-out must not be --out nor inside it: a data backup never carries keys")
	}
	if t.keys, err = realDir(keysOut, true); err != nil {
		return t, garde.Wrap(garde.EInvalid, err, "--keys-out: cannot create the directory")
	}
	if within(t.keys, t.out) {
		return t, garde.Errorf(garde.EInvalid, "--keys-out must not be --out nor inside it: a data backup never carries keys")
	}
	if t.keys == data {
		return t, garde.Errorf(garde.EInvalid, "--keys-out must not be the data directory")
	}
	return t, nil
}

// realDir returns the absolute path of dir with symbolic links resolved,
// creating it first when create is set.
func realDir(dir string, create bool) (string, error) {
	if create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// within reports whether path is dir or inside it (lexically, on absolute
// paths).
func within(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && (rel == "." || rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)))
}

// backupDB writes a consistent copy of the database at src to dst with
// VACUUM INTO on a reader connection (a snapshot: writers go on), readable
// by its owner only.
func backupDB(ctx context.Context, src, set, dst string) error {
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return garde.Errorf(garde.ENotFound, "%s: no Garde database here (see --data)", src)
	}
	if _, err := os.Lstat(dst); err == nil {
		return garde.Errorf(garde.EConflict, "%s exists already: back up into a new directory", dst)
	}
	db, err := store.OpenSQLite(ctx, src, set)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := vacuumInto(ctx, db, dst); err != nil {
		os.Remove(dst)
		return garde.Wrap(garde.EUnavailable, err, "could not copy the "+set+" database")
	}
	return os.Chmod(dst, 0o600)
}

// vacuumInto runs VACUUM INTO on one reader connection. Readers are opened
// query_only, which refuses VACUUM INTO (it writes, if only to dst): the
// connection lifts it for the copy and sets it back; the main database is
// only read.
func vacuumInto(ctx context.Context, db *store.DB, dst string) error {
	conn, err := db.Reader().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA query_only = 0"); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "VACUUM INTO ?", dst)
	if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA query_only = 1"); rerr != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn }) // drop it from the pool
	}
	return err
}
