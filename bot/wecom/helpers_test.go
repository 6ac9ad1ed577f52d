package wecom_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func strconvNow() string { return strconv.FormatInt(time.Now().Unix(), 10) }

func shanghai(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// httptestServer serves h for the test and returns its URL.
func httptestServer(t *testing.T, h http.HandlerFunc) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
