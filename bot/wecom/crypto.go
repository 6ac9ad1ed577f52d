package wecom

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// blockSize is the PKCS#7 block of WXBizMsgCrypt: 32 bytes, not AES's 16
// (PLATFORMS.md, "WeCom callback crypto").
const blockSize = 32

// maxCiphertext bounds what Decrypt will look at: a callback body is at
// most 1 MiB, so no genuine ciphertext is longer.
const maxCiphertext = 1 << 20

// Errors of the crypto. ErrSignature and ErrReceiveID mean the callback is
// not from WeCom (or not for us); ErrCiphertext that its encrypted part
// cannot be read with our key, which a forger without the key cannot avoid.
var (
	ErrSignature  = errors.New("wecom: msg_signature does not match")
	ErrReceiveID  = errors.New("wecom: receive-id does not match")
	ErrCiphertext = errors.New("wecom: ciphertext cannot be decrypted")
)

// Crypto is WeCom's callback crypto (WXBizMsgCrypt) for one token and
// EncodingAESKey: the msg_signature over the sorted token, timestamp,
// nonce and ciphertext, and AES-256-CBC with IV = key[:16] over
// random(16) ‖ len(4, big-endian) ‖ message ‖ receive-id, padded with
// PKCS#7 to 32 bytes. See
// https://developer.work.weixin.qq.com/document/path/90968.
// It is safe for concurrent use.
type Crypto struct {
	token string
	block cipher.Block
	iv    []byte
}

// NewCrypto returns the crypto for token and a 43-character
// EncodingAESKey.
func NewCrypto(token, encodingAESKey string) (*Crypto, error) {
	if token == "" {
		return nil, errors.New("wecom: empty token")
	}
	key, err := DecodeAESKey(encodingAESKey)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("wecom: %w", err)
	}
	return &Crypto{token: token, block: block, iv: key[:aes.BlockSize]}, nil
}

// DecodeAESKey turns an EncodingAESKey (43 base64 characters, as the
// admin console shows it) into the 32-byte AES key.
func DecodeAESKey(k string) ([]byte, error) {
	if len(k) != 43 {
		return nil, fmt.Errorf("wecom: EncodingAESKey has %d characters, not 43", len(k))
	}
	key, err := base64.StdEncoding.DecodeString(k + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("wecom: EncodingAESKey is not 43 characters of base64")
	}
	return key, nil
}

// Signature is the msg_signature of a callback: the lowercase hex SHA-1
// of token, timestamp, nonce and encrypt (echostr on GET), sorted and
// concatenated.
func (c *Crypto) Signature(timestamp, nonce, encrypt string) string {
	parts := []string{c.token, timestamp, nonce, encrypt}
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// Verify reports whether signature is the msg_signature of the other
// three, comparing in constant time.
func (c *Crypto) Verify(signature, timestamp, nonce, encrypt string) error {
	want := c.Signature(timestamp, nonce, encrypt)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(signature)), []byte(want)) != 1 {
		return ErrSignature
	}
	return nil
}

// Decrypt opens a base64 ciphertext and returns its message, checking that
// the receive-id sealed with it is receiveID (the corp id for an app, ""
// for an AI bot).
func (c *Crypto) Decrypt(encrypt, receiveID string) ([]byte, error) {
	if len(encrypt) > maxCiphertext*4/3+4 {
		return nil, fmt.Errorf("%w: too long", ErrCiphertext)
	}
	ct, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64", ErrCiphertext)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of AES blocks", ErrCiphertext, len(ct))
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(c.block, c.iv).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > blockSize || pad > len(pt) {
		return nil, fmt.Errorf("%w: bad padding", ErrCiphertext)
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, fmt.Errorf("%w: bad padding", ErrCiphertext)
		}
	}
	pt = pt[:len(pt)-pad]
	if len(pt) < 20 {
		return nil, fmt.Errorf("%w: too short", ErrCiphertext)
	}
	n := binary.BigEndian.Uint32(pt[16:20])
	if uint64(n) > uint64(len(pt)-20) {
		return nil, fmt.Errorf("%w: message length %d past the end", ErrCiphertext, n)
	}
	msg, rid := pt[20:20+n], pt[20+n:]
	if subtle.ConstantTimeCompare(rid, []byte(receiveID)) != 1 {
		return nil, ErrReceiveID
	}
	return bytes.Clone(msg), nil
}

// Encrypt seals msg for receiveID and returns the base64 ciphertext. The
// 16 random bytes come from random when it is given (the official vectors
// pin them), from crypto/rand otherwise.
func (c *Crypto) Encrypt(msg []byte, receiveID string, random []byte) (string, error) {
	if random == nil {
		random = make([]byte, 16)
		if _, err := rand.Read(random); err != nil {
			return "", fmt.Errorf("wecom: %w", err)
		}
	}
	if len(random) != 16 {
		return "", fmt.Errorf("wecom: %d random bytes, not 16", len(random))
	}
	n := 20 + len(msg) + len(receiveID)
	pad := blockSize - n%blockSize
	pt := make([]byte, 0, n+pad)
	pt = append(pt, random...)
	pt = binary.BigEndian.AppendUint32(pt, uint32(len(msg)))
	pt = append(pt, msg...)
	pt = append(pt, receiveID...)
	pt = append(pt, bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(c.block, c.iv).CryptBlocks(pt, pt)
	return base64.StdEncoding.EncodeToString(pt), nil
}
