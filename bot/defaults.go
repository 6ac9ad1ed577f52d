package bot

// orDefault sets *v to def when the caller left it unset (zero) or gave a
// value that cannot work (negative): the rule every count and duration of
// EngineConfig and SenderConfig follows, written once.
func orDefault[T ~int | ~int64](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
