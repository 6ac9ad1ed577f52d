package wecom

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func vectorCrypto(t testing.TB) *Crypto {
	t.Helper()
	c, err := NewCrypto(vec.Token, vec.AESKey)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOfficialGetVector(t *testing.T) {
	c := vectorCrypto(t)
	q, err := url.ParseQuery(vec.GetQuery)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr")); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	msg, err := c.Decrypt(q.Get("echostr"), vec.CorpID)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg) != vec.GetEcho {
		t.Fatalf("echostr = %q, want %q", msg, vec.GetEcho)
	}
}

func TestOfficialPostVector(t *testing.T) {
	c := vectorCrypto(t)
	q, _ := url.ParseQuery(vec.PostQuery)
	if err := c.Verify(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), vec.PostEncrypt); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	msg, err := c.Decrypt(vec.PostEncrypt, vec.CorpID)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<FromUserName><![CDATA[mycreate]]></FromUserName>", "<Content><![CDATA[hello]]></Content>",
		"<MsgId>4561255354251345929</MsgId>", "<CreateTime>1409659813</CreateTime>", "<AgentID>218</AgentID>"} {
		if !strings.Contains(string(msg), want) {
			t.Errorf("decrypted message lacks %s:\n%s", want, msg)
		}
	}
	// Encryption is deterministic given the 16 random bytes: the sample's
	// reproduce its ciphertext exactly.
	again, err := c.Encrypt(msg, vec.CorpID, []byte(vec.PostRandom))
	if err != nil {
		t.Fatal(err)
	}
	if again != vec.PostEncrypt {
		t.Fatalf("Encrypt with the sample's random bytes:\n got %s\nwant %s", again, vec.PostEncrypt)
	}
}

func TestCryptoRefuses(t *testing.T) {
	c := vectorCrypto(t)
	sealed, err := c.Encrypt([]byte("hello"), vec.CorpID, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewCrypto(vec.Token, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	if err != nil {
		t.Fatal(err)
	}
	sig := c.Signature("1", "2", sealed)
	for _, tc := range []struct {
		name string
		err  error
		got  func() error
	}{
		{"wrong signature", ErrSignature, func() error { return c.Verify(strings.Repeat("0", 40), "1", "2", sealed) }},
		{"other timestamp", ErrSignature, func() error { return c.Verify(sig, "3", "2", sealed) }},
		{"other token", ErrSignature, func() error {
			o, _ := NewCrypto("other", vec.AESKey)
			return o.Verify(sig, "1", "2", sealed)
		}},
		{"other receive-id", ErrReceiveID, func() error { _, err := c.Decrypt(sealed, "wwother"); return err }},
		{"empty receive-id expected", ErrReceiveID, func() error { _, err := c.Decrypt(sealed, ""); return err }},
		{"other key", ErrCiphertext, func() error {
			_, err := other.Decrypt(sealed, vec.CorpID)
			if errors.Is(err, ErrReceiveID) { // a wrong key may, rarely, leave valid padding
				return ErrCiphertext
			}
			return err
		}},
		{"not base64", ErrCiphertext, func() error { _, err := c.Decrypt("%%%", vec.CorpID); return err }},
		{"not whole blocks", ErrCiphertext, func() error { _, err := c.Decrypt("AAAA", vec.CorpID); return err }},
		{"empty", ErrCiphertext, func() error { _, err := c.Decrypt("", vec.CorpID); return err }},
	} {
		if err := tc.got(); !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.err)
		}
	}
	if err := c.Verify(strings.ToUpper(sig), "1", "2", sealed); err != nil {
		t.Errorf("an upper-case signature is the same hex: %v", err)
	}
}

func TestCryptoRoundTrip(t *testing.T) {
	c := vectorCrypto(t)
	for _, rid := range []string{"", vec.CorpID} {
		for n := range 70 { // every padding length, and a whole extra block
			msg := []byte(strings.Repeat("温", n))
			sealed, err := c.Encrypt(msg, rid, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Decrypt(sealed, rid)
			if err != nil || string(got) != string(msg) {
				t.Fatalf("rid %q, %d bytes: got %q, %v", rid, len(msg), got, err)
			}
		}
	}
}

func TestDecodeAESKey(t *testing.T) {
	for _, k := range []string{"", "short", vec.AESKey + "A", strings.Repeat("!", 43)} {
		if _, err := DecodeAESKey(k); err == nil {
			t.Errorf("DecodeAESKey(%q) accepted", k)
		}
	}
	if _, err := NewCrypto("", vec.AESKey); err == nil {
		t.Error("NewCrypto accepted an empty token")
	}
}

// FuzzDecrypt: any ciphertext is refused or opened, never a panic; what
// opens re-seals to itself.
func FuzzDecrypt(f *testing.F) {
	f.Add(vec.PostEncrypt, vec.CorpID)
	f.Add("AAAAAAAAAAAAAAAAAAAAAA==", "")
	f.Add("", "")
	c := vectorCrypto(f)
	f.Fuzz(func(t *testing.T, encrypt, rid string) {
		msg, err := c.Decrypt(encrypt, rid)
		if err != nil {
			return
		}
		sealed, err := c.Encrypt(msg, rid, nil)
		if err != nil {
			t.Fatal(err)
		}
		back, err := c.Decrypt(sealed, rid)
		if err != nil || string(back) != string(msg) {
			t.Fatalf("round trip: %q, %v", back, err)
		}
	})
}

// FuzzVerify: any signature input is checked without a panic, and only
// the signature computed for it passes.
func FuzzVerify(f *testing.F) {
	f.Add("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", "x")
	c := vectorCrypto(f)
	f.Fuzz(func(t *testing.T, sig, ts, nonce, enc string) {
		err := c.Verify(sig, ts, nonce, enc)
		if err == nil && !strings.EqualFold(sig, c.Signature(ts, nonce, enc)) {
			t.Fatalf("Verify accepted %q", sig)
		}
	})
}
