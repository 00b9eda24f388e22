package main

import (
	"errors"

	"github.com/garde-privacy/garde"
)

// publicError is what the CLI prints: the public message of a garde.Error
// with its cause (CLI errors name files and fields, never personal data).
func publicError(err error) string {
	var e *garde.Error
	if errors.As(err, &e) {
		if e.Err != nil {
			return e.Message + ": " + e.Err.Error()
		}
		return e.Message
	}
	return err.Error()
}
