package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/consent/tcf"
)

// maxTCFJSON bounds what tcf encode reads.
const maxTCFJSON = 16 << 20

func newTCFCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tcf", Short: "Decode and encode IAB TCF v2.2 TC strings"}
	cmd.AddCommand(newTCFDecode(), newTCFEncode())
	return cmd
}

func newTCFDecode() *cobra.Command {
	return &cobra.Command{
		Use:   "decode STRING",
		Short: "Print a TC string's fields as JSON; exits non-zero if it is not valid under TCF v2.2",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := tcf.Decode(strings.TrimSpace(args[0]))
			if err != nil {
				return err
			}
			out, err := json.MarshalIndent(t, "", "  ")
			if err != nil {
				return garde.Wrap(garde.EInternal, err, "tcf decode: rendering JSON")
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(out))
			return tcfProblems(cmd, t)
		},
	}
}

func newTCFEncode() *cobra.Command {
	var skipValidation bool
	cmd := &cobra.Command{
		Use:   "encode [FILE]",
		Short: "Read a TC string's fields as JSON (the shape tcf decode prints) from FILE or stdin and print the string",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, name := cmd.InOrStdin(), "stdin"
			if len(args) == 1 {
				f, err := os.Open(args[0])
				if err != nil {
					return garde.Wrap(garde.EInvalid, err, "tcf encode: opening the input")
				}
				defer f.Close()
				in, name = f, args[0]
			}
			dec := json.NewDecoder(io.LimitReader(in, maxTCFJSON))
			dec.DisallowUnknownFields()
			var t tcf.TCString
			if err := dec.Decode(&t); err != nil {
				return garde.Wrap(garde.EInvalid, err, "tcf encode: reading JSON from "+name)
			}
			if !skipValidation {
				if err := tcfProblems(cmd, &t); err != nil {
					return err
				}
			}
			s, err := tcf.Encode(&t)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), s)
			return nil
		},
	}
	cmd.Flags().BoolVar(&skipValidation, "no-validate", false, "encode even if the fields are not valid under TCF v2.2 (for tests)")
	return cmd
}

// tcfProblems prints what makes t invalid under TCF v2.2 on stderr, one
// problem a line, and returns an error if there is any.
func tcfProblems(cmd *cobra.Command, t *tcf.TCString) error {
	problems := t.Problems()
	for _, p := range problems {
		fmt.Fprintln(cmd.ErrOrStderr(), "invalid:", p)
	}
	if len(problems) > 0 {
		return garde.Errorf(garde.EInvalid, "the TC string is not valid under TCF v2.2 (%d problems)", len(problems))
	}
	return nil
}
