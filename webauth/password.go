// Package webauth is the dashboard's logins: passwords hashed with
// argon2id, server-side sessions behind random tokens, a lock-out that
// lives in the database (so it holds across restarts and replicas), and
// one-time invite links. It answers an unknown phone exactly as it answers
// a wrong password, after the same work, so the login form tells nobody
// who has an account.
package webauth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"
)

// The argon2id parameters of new hashes (OWASP's second recommendation:
// 19 MiB, two passes, one lane): a login costs tens of milliseconds, a
// guess as much. Stored hashes carry their own parameters.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// HashPassword hashes pw with argon2id and a fresh salt, in the PHC string
// form ($argon2id$v=19$m=…,t=…,p=…$salt$key).
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches hash (as HashPassword makes it),
// comparing in constant time. A malformed hash matches nothing.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil ||
		m == 0 || m > 1<<20 || t == 0 || t > 16 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 || len(key) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// dummyHash is checked against when a phone has no account, so an unknown
// phone costs the same argon2id work as a wrong password.
var dummyHash = func() string {
	h, err := HashPassword("towerbot: no such account")
	if err != nil {
		panic(err)
	}
	return h
}()

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// ErrWeakPassword is why a password is refused; its text says how to pick
// a better one.
var ErrWeakPassword = errors.New("weak password")

// common are passwords people pick that meet the length and still fall to
// the first guesses.
var common = []string{"1234567890", "12345678910", "0123456789", "qwertyuiop", "password123", "passw0rd123",
	"1qaz2wsx3edc", "a123456789", "abc1234567", "abcd123456", "qwerty1234", "woaini1314", "iloveyou12", "admin12345",
	"password12", "1q2w3e4r5t", "zaq12wsxcde"}

// CheckStrength refuses a password that is short, made of one kind of
// character, one character repeated, a common one, or the phone itself.
func CheckStrength(pw, phone string) error {
	weak := func(why string) error { return fmt.Errorf("%w: %s", ErrWeakPassword, why) }
	if len([]rune(pw)) < MinPasswordLength {
		return weak(fmt.Sprintf("use at least %d characters", MinPasswordLength))
	}
	if len(pw) > 128 {
		return weak("use at most 128 bytes")
	}
	var letters, digits, others int
	distinct := map[rune]bool{}
	for _, r := range pw {
		distinct[r] = true
		switch {
		case unicode.IsLetter(r):
			letters++
		case unicode.IsDigit(r):
			digits++
		default:
			others++
		}
	}
	kinds := 0
	for _, n := range []int{letters, digits, others} {
		if n > 0 {
			kinds++
		}
	}
	if kinds < 2 {
		return weak("mix letters with digits or signs")
	}
	if len(distinct) < 5 {
		return weak("use more different characters")
	}
	lower := strings.ToLower(pw)
	for _, c := range common {
		if lower == c {
			return weak("this password is among the first guessed")
		}
	}
	if phone != "" && strings.Contains(pw, phone) {
		return weak("do not use the phone number")
	}
	return nil
}

// newToken returns a fresh random token (URL-safe, 256 bits) and the hash
// the store keeps of it.
func newToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, tokenHash(token), nil
}

// tokenHash is the store's key of a token: its SHA-256 in hex.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
