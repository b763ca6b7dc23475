package server

import (
	"errors"
	"time"

	"github.com/termcall/termcall/config/usersig"
	"github.com/termcall/termcall/server/proto"
)

// verifyLogin checks a login's userID, SDKAppID and userSig (protocol.md,
// Login and sessions, step 1).
func (s *Server) verifyLogin(req proto.LoginRequest, now time.Time) *proto.Error {
	if !proto.ValidUserID(req.UserID) {
		return errf(proto.CodeInvalidUserID, "userID must be 1-32 characters of [A-Za-z0-9_-]")
	}
	if req.SDKAppID != s.opts.SDKAppID {
		return errf(proto.CodeSDKAppIDMatch, "this server serves SDKAppID %d, not %d", s.opts.SDKAppID, req.SDKAppID)
	}
	if req.UserSig == "" {
		return errf(proto.CodeInvalidUserSig, "userSig is missing")
	}
	_, err := usersig.Verify(req.UserSig, s.opts.Secret, s.opts.SDKAppID, req.UserID, now)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, usersig.ErrExpired):
		return errf(proto.CodeUserSigExpired, "userSig expired")
	case errors.Is(err, usersig.ErrSDKAppIDMismatch):
		return errf(proto.CodeSDKAppIDMatch, "userSig was issued for another SDKAppID")
	case errors.Is(err, usersig.ErrIdentifierMismatch):
		return errf(proto.CodeIdentifierMatch, "userSig was issued to another userID")
	default: // ErrMalformed, ErrTooLarge, ErrSigMismatch and anything new
		return errf(proto.CodeInvalidUserSig, "invalid userSig")
	}
}
