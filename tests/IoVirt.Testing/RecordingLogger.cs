using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace IoVirt.Testing;

/// <summary>An <see cref="ILogger"/> that keeps every line, so tests can check what was logged.</summary>
public sealed class RecordingLogger : ILogger
{
    private readonly ConcurrentQueue<(LogLevel Level, string Text)> _lines = new();

    public IReadOnlyCollection<(LogLevel Level, string Text)> Lines => _lines;

    public bool Contains(LogLevel level, string fragment) =>
        _lines.Any(l => l.Level == level && l.Text.Contains(fragment, StringComparison.OrdinalIgnoreCase));

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        _lines.Enqueue((logLevel, formatter(state, exception)));
    }
}
