package handlers

import (
	"strings"
	"unicode/utf8"
)

// maskPhone masks a mobile number for a group post: 13812345678 →
// 138****5678. Anything that is not an 11-digit number is masked whole but
// for its last four characters.
func maskPhone(phone string) string {
	if phone == "" {
		return ""
	}
	if isDigits(phone) && len(phone) == 11 {
		return phone[:3] + "****" + phone[7:]
	}
	r := []rune(phone)
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return strings.Repeat("*", len(r)-4) + string(r[len(r)-4:])
}

// maskPII masks the personal numbers inside free text before it is posted
// to a group: mobile numbers (11 digits starting with 1, also written
// 138 1234 5678 or 138-1234-5678, or after the country code 86) keep their
// first three and last four digits, identity card numbers (15 digits, or 17
// and a check digit or X; also written 6-8-4) their first six and last
// four. Other numbers (room numbers, counts, dates) are left alone. Masking
// masked text changes nothing.
func maskPII(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			_, n := utf8.DecodeRuneInString(s[i:])
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		if n := grouped(s, i, 3, 4, 4); n > 0 && s[i] == '1' {
			b.WriteString(s[i:i+4] + "****" + s[i+8:i+n])
			i += n
			continue
		}
		if n := grouped(s, i, 6, 8, 4); n > 0 {
			b.WriteString(s[i:i+7] + "********" + s[i+15:i+n])
			i += n
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		// An identity number may end with the check letter X.
		if j-i == 17 && j < len(s) && (s[j] == 'X' || s[j] == 'x') {
			j++
		}
		run := s[i:j]
		switch {
		case len(run) == 11 && run[0] == '1':
			b.WriteString(run[:3] + "****" + run[7:])
		case len(run) == 13 && strings.HasPrefix(run, "861"):
			b.WriteString(run[:5] + "****" + run[9:])
		case len(run) == 15 || len(run) == 18:
			b.WriteString(run[:6] + strings.Repeat("*", len(run)-10) + run[len(run)-4:])
		default:
			b.WriteString(run)
		}
		i = j
	}
	return b.String()
}

// grouped returns the length of a number at s[i:] written as three groups
// of a, m and z digits joined by one space or hyphen each, or 0 when there
// is none there. For an identity number (a = 6) the last digit may be the
// check letter X.
func grouped(s string, i, a, m, z int) int {
	j := i
	for g, n := range [3]int{a, m, z} {
		if g > 0 {
			if j >= len(s) || (s[j] != ' ' && s[j] != '-') {
				return 0
			}
			j++
		}
		for k := 0; k < n; k++ {
			checkX := a == 6 && g == 2 && k == n-1
			if j < len(s) && (isDigit(s[j]) || checkX && (s[j] == 'X' || s[j] == 'x')) {
				j++
				continue
			}
			return 0
		}
	}
	if j < len(s) && isDigit(s[j]) {
		return 0
	}
	return j - i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

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
