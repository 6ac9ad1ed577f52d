package handlers

import (
	"strings"

	"github.com/towerbot/towerbot/pii"
)

// maskPhone masks a known phone number for a group post (pii.MaskPhone):
// 13812345678 → 138****5678.
func maskPhone(phone string) string { return pii.MaskPhone(phone) }

// maskPII masks the personal numbers inside free text before it is posted
// to a group: mobile and identity card numbers, however they are spelled
// (pii.Mask). Other numbers are left alone, and masking masked text changes
// nothing.
func maskPII(s string) string { return pii.Mask(s) }

// quote is member text as a post may echo it: masked, then shortened to
// at most n characters — in that order, so that clipping never leaves the
// head of a number too short to be recognised and masked.
func quote(s string, n int) string { return clip(maskPII(s), n) }

// clip shortens s to at most n characters for a phone-sized line.
func clip(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}
