package subscriber

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
)

// Level is the importance of a span or event. The numbers are those of [slog.Level], with
// TRACE added below DEBUG, so a Level converts to and from slog.Level without a table.
type Level int

// The levels, from most to least verbose. LevelOff is above every level: a filter at
// LevelOff enables nothing.
const (
	LevelTrace Level = -8
	LevelDebug Level = Level(slog.LevelDebug)
	LevelInfo  Level = Level(slog.LevelInfo)
	LevelWarn  Level = Level(slog.LevelWarn)
	LevelError Level = Level(slog.LevelError)
	LevelOff   Level = math.MaxInt32
)

// String returns "TRACE", "DEBUG", "INFO", "WARN", "ERROR" or "OFF"; levels in between
// print as slog does, relative to the level below ("INFO+2").
func (l Level) String() string {
	if l == LevelOff {
		return "OFF"
	}
	str := func(base string, d Level) string {
		if d == 0 {
			return base
		}
		return fmt.Sprintf("%s%+d", base, d)
	}
	switch {
	case l < LevelDebug:
		return str("TRACE", l-LevelTrace)
	case l < LevelInfo:
		return str("DEBUG", l-LevelDebug)
	case l < LevelWarn:
		return str("INFO", l-LevelInfo)
	case l < LevelError:
		return str("WARN", l-LevelWarn)
	default:
		return str("ERROR", l-LevelError)
	}
}

// Slog returns the level as a slog.Level.
func (l Level) Slog() slog.Level { return slog.Level(l) }

// ParseLevel parses a level name, in any case: trace, debug, info, warn (or warning),
// error, off. The error names the accepted values.
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace":
		return LevelTrace, nil
	case "debug":
		return LevelDebug, nil
	case "info":
		return LevelInfo, nil
	case "warn", "warning":
		return LevelWarn, nil
	case "error":
		return LevelError, nil
	case "off", "none":
		return LevelOff, nil
	}
	return 0, fmt.Errorf("unknown level %q (want trace, debug, info, warn, error or off)", s)
}
