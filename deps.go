//go:build tools

// This file pins the modules that the scheduler (robfig/cron) and the WeCom
// channel (silenceper/wechat, asked for as v2.1.10 by name) will use, so that
// go.mod and go.sum already hold the versions chosen for them. The build tag
// keeps it out of every build.
package main

import (
	_ "github.com/robfig/cron/v3"
	_ "github.com/silenceper/wechat/v2/work/robot"
)
