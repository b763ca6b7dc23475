package usersig

import "errors"

var (
	// ErrMalformed means the token is not a well-formed TLSSigAPIv2 UserSig
	// (bad base64, zlib or JSON, or a missing/mistyped field).
	ErrMalformed = errors.New("usersig: malformed token")
	// ErrTooLarge means the token, or its inflated JSON, exceeds the size caps.
	ErrTooLarge = errors.New("usersig: token too large")
	// ErrSigMismatch means the HMAC does not match the secret key.
	ErrSigMismatch = errors.New("usersig: signature mismatch")
	// ErrExpired means now is after TLS.time + TLS.expire.
	ErrExpired = errors.New("usersig: token expired")
	// ErrSDKAppIDMismatch means TLS.sdkappid is not the expected SDKAppID.
	ErrSDKAppIDMismatch = errors.New("usersig: sdkappid mismatch")
	// ErrIdentifierMismatch means TLS.identifier is not the expected user id.
	ErrIdentifierMismatch = errors.New("usersig: identifier mismatch")
	// ErrEmptySecret means no secret key was given.
	ErrEmptySecret = errors.New("usersig: empty secret key")
	// ErrInvalidParams means Generate was given values no token can carry
	// (negative time or expire, identifier that is not valid UTF-8).
	ErrInvalidParams = errors.New("usersig: invalid parameters")
)
