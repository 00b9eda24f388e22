package store

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// datasync flushes f's data, and the metadata needed to read it back (its
// size), to the disk: what SQLite itself does on Linux (fdatasync), without
// the modification time that fsync would write as well.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

// startWriteback starts writing f's dirty pages to the disk and returns
// without waiting (sync_file_range, SYNC_FILE_RANGE_WRITE): a later
// datasync then has little left to flush. It is not a flush: no guarantee
// comes with it.
func startWriteback(f *os.File) error {
	return unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
}
