package bot

import (
	"errors"
	"fmt"

	"github.com/towerbot/towerbot/store"
)

// Code classifies an error by what the sender should be told.
type Code string

// Error codes. Each maps to a message-log outcome (see Code.Outcome).
const (
	CodeInvalid  Code = "invalid"  // the message breaks a rule: a hint is sent
	CodeNotFound Code = "notfound" // it names something that does not exist
	CodeConflict Code = "conflict" // it lost a race or repeats a finished step
	CodeRefused  Code = "refused"  // the sender may not do this
	CodeInternal Code = "internal" // anything else: logged, "系统繁忙" sent
)

// Outcome is the store.Outcome* recorded for a message that ended with c.
func (c Code) Outcome() string {
	switch c {
	case CodeInvalid, CodeNotFound:
		return store.OutcomeInvalid
	case CodeConflict:
		return store.OutcomeConflict
	case CodeRefused:
		return store.OutcomeRefused
	}
	return store.OutcomeError
}

// Error is an error whose Message is fit to show the sender (in Chinese).
type Error struct {
	Code    Code
	Message string // shown to the sender as is
	Err     error  // the cause, for logs; may be nil
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return string(e.Code) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted user message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: that of the first *Error in its chain,
// CodeInternal otherwise (and "" for nil).
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the user-facing message of err, or "" when it is
// internal (the router then sends its generic text).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal {
		return e.Message
	}
	return ""
}
