package config

import "errors"

// Sentinel errors of the config package.
var (
	// ErrInvalid is returned by Validate (wrapped with what is wrong).
	ErrInvalid = errors.New("config: invalid")
	// ErrUnknownKey is returned by Load for keys the file should not have
	// (usually a typo).
	ErrUnknownKey = errors.New("config: unknown key")
	// ErrExists is returned by WriteExample when the file exists and
	// overwriting was not asked for.
	ErrExists = errors.New("config: file exists")
	// ErrNoHome is returned when neither the XDG variable nor $HOME is set.
	ErrNoHome = errors.New("config: no home directory")
)
