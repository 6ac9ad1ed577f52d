package bot

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/store"
)

func TestRouterHandlePanicsOnWiringMistakes(t *testing.T) {
	ok := func(context.Context, *Context) error { return nil }
	cases := []struct {
		name string
		do   func(r *Router)
		want string
	}{
		{"nil handler", func(r *Router) { r.Handle(parse.KindTemperature, nil) }, "nil handler"},
		{"duplicate", func(r *Router) {
			r.Handle(parse.KindTemperature, ok)
			r.Handle(parse.KindTemperature, ok)
		}, "already has a handler"},
		{"unknown kind", func(r *Router) { r.Handle("weather", ok) }, "unknown kind"},
		{"none", func(r *Router) { r.Handle(parse.KindNone, ok) }, "never handled"},
		{"nil middleware", func(r *Router) { r.Use(nil) }, "nil"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				p := recover()
				if p == nil {
					t.Fatal("no panic")
				}
				if s, _ := p.(string); !strings.Contains(s, tc.want) {
					t.Fatalf("panic %v; want it to mention %q", p, tc.want)
				}
			}()
			tc.do(NewRouter())
		})
	}
}

func TestRouterServe(t *testing.T) {
	var trace []string
	r := NewRouter()
	r.Use(func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, c *Context) error {
			trace = append(trace, "auth")
			return next(ctx, c)
		}
	})
	r.Handle(parse.KindTemperature, func(ctx context.Context, c *Context) error {
		trace = append(trace, "temperature")
		return nil
	})

	t.Run("routed kind runs middleware then handler", func(t *testing.T) {
		trace = nil
		c := &Context{Parsed: parse.Result{Kind: parse.KindTemperature}}
		if err := r.Serve(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(trace, ","); got != "auth,temperature" || c.Outcome != "" {
			t.Fatalf("trace %q outcome %q; want auth,temperature and no outcome set", got, c.Outcome)
		}
	})
	for _, kind := range []parse.Kind{parse.KindNone, parse.KindErrandClaim} {
		t.Run(string(kind)+" runs nothing", func(t *testing.T) {
			trace = nil
			c := &Context{Parsed: parse.Result{Kind: kind}}
			if err := r.Serve(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			if len(trace) != 0 || c.Outcome != store.OutcomeNone {
				t.Fatalf("trace %v outcome %q; want nothing run and outcome none", trace, c.Outcome)
			}
		})
	}
	t.Run("chit-chat that mentions the bot runs the middleware only", func(t *testing.T) {
		trace = nil
		c := &Context{Parsed: parse.Result{Kind: parse.KindNone}, Message: &Message{Mentioned: true}}
		if err := r.Serve(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		if strings.Join(trace, ",") != "auth" || c.Outcome != store.OutcomeNone {
			t.Fatalf("trace %v outcome %q; want the authoriser run and outcome none", trace, c.Outcome)
		}
		trace = nil
		c = &Context{Parsed: parse.Result{Kind: parse.KindNone}, Message: &Message{}}
		if err := r.Serve(context.Background(), c); err != nil || len(trace) != 0 {
			t.Fatalf("chit-chat without a mention: trace %v, %v; want nothing run", trace, err)
		}
	})
	t.Run("invalid without a handler answers with the hint", func(t *testing.T) {
		trace = nil
		c := &Context{Parsed: parse.Result{Kind: parse.KindInvalid,
			Invalid: &parse.Invalid{Intent: parse.KindTemperature, Error: "hint"}}}
		err := r.Serve(context.Background(), c)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInvalid || e.Message != "hint" {
			t.Fatalf("err %v; want invalid with the parser's hint", err)
		}
		if strings.Join(trace, ",") != "auth" {
			t.Fatalf("trace %v; the authoriser must still run", trace)
		}
	})
}
