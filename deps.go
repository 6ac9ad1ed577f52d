//go:build tools

// Package deps pins module dependencies until the code that uses them lands.
package main

import (
	_ "github.com/glebarez/sqlite"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/robfig/cron/v3"
	_ "github.com/silenceper/wechat/v2/work/robot"
	_ "github.com/xuri/excelize/v2"
	_ "golang.org/x/text/unicode/norm"
	_ "gopkg.in/yaml.v3"
	_ "gorm.io/driver/mysql"
	_ "gorm.io/gorm"
)

func main() {}
