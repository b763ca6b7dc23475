package cmd

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/config/usersig"
	"github.com/termcall/termcall/server/proto"
)

// usersigExpire is the CLI's default validity: 7 days.
const usersigExpire = 7 * 24 * time.Hour

// claimsJSON is how --verify prints a token's claims.
type claimsJSON struct {
	Version    string `json:"ver"`
	Identifier string `json:"identifier"`
	SDKAppID   uint32 `json:"sdkappid"`
	Time       int64  `json:"time"`
	Expire     int64  `json:"expire"`
	ExpiresAt  string `json:"expires_at"`
	HasUserBuf bool   `json:"has_userbuf"`
	UserBuf    string `json:"userbuf,omitempty"` // standard base64
}

// usersigCommand returns the `usersig` subcommand, which prints a UserSig for a
// user or, with --verify, checks one and prints its claims as JSON.
func usersigCommand() *cobra.Command {
	var (
		sdkAppID uint32
		secret   string
		user     string
		expire   int64
		verify   string
	)
	cmd := &cobra.Command{
		Use:   "usersig --sdkappid N --secret KEY --user ID [--expire SECONDS] [--verify TOKEN]",
		Short: "Generate or verify a TLSSigAPIv2 UserSig",
		Long: "usersig prints a Tencent TLSSigAPIv2 UserSig for a user, signed with the application's\n" +
			"secret key (also read from $" + config.SecretEnv + "). With --verify it checks a token for that\n" +
			"sdkappid, key and user, prints its claims as JSON, and fails if it is invalid.",
		Args:         cobra.NoArgs,
		SilenceUsage: true, // stdout carries only the token or the claims
		RunE: func(cmd *cobra.Command, _ []string) error {
			if secret == "" {
				secret = os.Getenv(config.SecretEnv)
			}
			if secret == "" {
				return fmt.Errorf("usersig: --secret or $%s is required: %w", config.SecretEnv, usersig.ErrEmptySecret)
			}
			if !proto.ValidUserID(user) {
				return fmt.Errorf("usersig: invalid --user %q: want 1-32 of [A-Za-z0-9_-]", user)
			}
			if cmd.Flags().Changed("verify") {
				c, err := usersig.Verify(verify, secret, sdkAppID, user, time.Now())
				if err != nil {
					return fmt.Errorf("verify: %w", err)
				}
				out := claimsJSON{
					Version: c.Version, Identifier: c.Identifier, SDKAppID: c.SDKAppID,
					Time: c.Time, Expire: c.Expire, HasUserBuf: c.HasUserBuf,
					ExpiresAt: time.Unix(c.ExpiresAt(), 0).UTC().Format(time.RFC3339),
				}
				if c.HasUserBuf {
					out.UserBuf = base64.StdEncoding.EncodeToString(c.UserBuf)
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			if expire <= 0 {
				return errors.New("usersig: --expire must be a positive number of seconds")
			}
			tok, err := usersig.Generate(secret, usersig.Params{
				SDKAppID: sdkAppID, Identifier: user, Expire: expire, Time: time.Now().Unix(),
			})
			if err != nil {
				return fmt.Errorf("generate usersig: %w", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	f := cmd.Flags()
	f.Uint32Var(&sdkAppID, "sdkappid", 0, "application SDKAppID")
	f.StringVar(&secret, "secret", "", "secret key (default $"+config.SecretEnv+")")
	f.StringVar(&user, "user", "", "user id, 1-32 of [A-Za-z0-9_-]")
	f.Int64Var(&expire, "expire", int64(usersigExpire/time.Second), "validity in seconds")
	f.StringVar(&verify, "verify", "", "verify this token instead of generating one")
	_ = cmd.MarkFlagRequired("sdkappid") // the flags exist, so these cannot fail
	_ = cmd.MarkFlagRequired("user")
	return cmd
}
