package wecom

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
)

// Vectors are WeCom's official WXBizMsgCrypt sample vectors
// (PLATFORMS.md), kept in testdata/official_vectors.json for the unit
// tests here, the tests against the running server and the end-to-end
// test of towerbot serve.
type Vectors struct {
	Token       string `json:"token"`
	CorpID      string `json:"corp_id"`
	AESKey      string `json:"aes_key"`
	GetQuery    string `json:"get_query"`
	GetEcho     string `json:"get_echo"`
	PostQuery   string `json:"post_query"`
	PostEncrypt string `json:"post_encrypt"`
	PostBody    string `json:"post_body"`
	PostRandom  string `json:"post_random"`
}

// OfficialVectors are the vectors, read once for every test of the
// package (and of wecom_test).
var OfficialVectors = mustLoadVectors()

// vec is OfficialVectors under a short name.
var vec = OfficialVectors

func mustLoadVectors() Vectors {
	_, here, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(here), "testdata", "official_vectors.json"))
	if err != nil {
		panic(err)
	}
	var v Vectors
	if err := json.Unmarshal(b, &v); err != nil {
		panic(err)
	}
	return v
}
