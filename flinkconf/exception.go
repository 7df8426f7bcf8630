// Package flinkconf reads Flink configurations and parses their values exactly as Flink does:
// memory sizes, durations, Java's number grammars, option defaults, fallback and deprecated keys.
// Errors carry Flink's (Java) exception class, message and cause chain, because flinktune
// reports failures in Flink's own words.
package flinkconf

import "strings"

// Java exception classes that Flink's configuration and memory code throw.
const (
	ClassIllegalArgument      = "java.lang.IllegalArgumentException"
	ClassNumberFormat         = "java.lang.NumberFormatException"
	ClassArithmetic           = "java.lang.ArithmeticException"
	ClassIllegalConfiguration = "org.apache.flink.configuration.IllegalConfigurationException"
)

// Exception mirrors a Java exception: its fully qualified class, its message and its cause.
type Exception struct {
	Class   string
	Message string
	Cause   *Exception
}

// NewException returns an exception of the given class with an optional cause.
func NewException(class, message string, cause *Exception) *Exception {
	return &Exception{Class: class, Message: message, Cause: cause}
}

// IllegalConfiguration returns Flink's IllegalConfigurationException.
func IllegalConfiguration(message string, cause *Exception) *Exception {
	return NewException(ClassIllegalConfiguration, message, cause)
}

// IllegalArgument returns java.lang.IllegalArgumentException.
func IllegalArgument(message string, cause *Exception) *Exception {
	return NewException(ClassIllegalArgument, message, cause)
}

// SimpleName is the class name without its package, as Java's getSimpleName.
func (e *Exception) SimpleName() string {
	return e.Class[strings.LastIndexByte(e.Class, '.')+1:]
}

// Error renders "<SimpleClassName>: <message>", the form Flink's logs and flinktune's outputs use.
func (e *Exception) Error() string {
	return e.SimpleName() + ": " + e.Message
}

// Causes lists the cause chain below e, outermost first, excluding e itself.
func (e *Exception) Causes() []*Exception {
	var out []*Exception
	for c := e.Cause; c != nil; c = c.Cause {
		out = append(out, c)
	}
	return out
}

// OfClass reports whether e is of the given class.
func (e *Exception) OfClass(class string) bool { return e != nil && e.Class == class }
