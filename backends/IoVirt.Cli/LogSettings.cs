using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary>How a daemon's log lines are written to stderr.</summary>
internal enum LogFormat
{
    /// <summary>One line per event: time, level, category, message.</summary>
    Text,

    /// <summary>One JSON object per line, with the message's named values (path, queue, tenant...) as fields of "State".</summary>
    Json,
}

/// <summary>A daemon's logging: from which level, in which format.</summary>
internal sealed record LogSettings(LogLevel Level, LogFormat Format);

/// <summary>What a daemon tells its operators: its logs, and where it serves its metrics (null: nowhere).</summary>
internal sealed record DaemonTelemetry(LogSettings Logging, MetricsEndpoint? Metrics);
