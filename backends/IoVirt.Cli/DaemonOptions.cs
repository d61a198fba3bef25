using System.CommandLine;
using IoVirt.Sandbox;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary>The options every daemon takes: its log level and its sandbox (<see cref="ProcessSandbox"/>).</summary>
internal sealed class DaemonOptions
{
    private readonly Option<LogLevel?> _level = CommandLine.Parsed<LogLevel>(
        "--log-level", "LEVEL", "trace, debug, information, warning, error (default information)", ParseLevel);

    private readonly Option<LogFormat?> _format = CommandLine.Parsed<LogFormat>(
        "--log-format", "FORMAT", "text (default: one line per event) or json (one object per line)", ParseFormat);

    private readonly Option<MetricsEndpoint?> _metrics = CommandLine.Parsed<MetricsEndpoint>(
        "--metrics-listen",
        "ADDR:PORT",
        """
        serve the metrics in Prometheus text format at
        http://ADDR:PORT/metrics (the sandbox then keeps the
        host's network)
        """,
        MetricsEndpoint.Parse);

    private readonly Option<SandboxMode?> _sandbox = CommandLine.Parsed<SandboxMode>(
        "--sandbox",
        "MODE",
        """
        namespace (default as root): once its sockets and files
        are open, a mount namespace with only the runtime and the
        socket directory in view, a network namespace of its own
        (unless it uses a TAP), no_new_privs and a seccomp
        allowlist of system calls; seccomp: no_new_privs and the
        allowlist only (no root needed); none (default otherwise)
        """,
        ParseMode);

    private readonly Option<string> _user = CommandLine.Text(
        "--user",
        "USER[:GROUP]",
        """
        become USER once everything is open (needs root); the
        sockets are handed to USER, so it can remove them on exit
        where it may (its own or a sticky directory)
        """);

    private readonly Option<SeccompDenial?> _seccomp = CommandLine.Parsed<SeccompDenial>(
        "--seccomp",
        "ACTION",
        """
        a system call off the allowlist: kill (default; the
        process dies of SIGSYS) or log (it runs, the kernel logs it)
        """,
        ParseDenial);

    /// <summary><c>--config FILE</c> for a daemon whose settings are all options (rng, blk, net).</summary>
    public static SettingsFileOption SettingsFile() => new(
        """
        the settings as one JSON object: the options in camelCase,
        such as {"socket": "/run/vm1.sock", "queueSize": 256,
        "logLevel": "debug"}; options given here win over the file
        """,
        onlyOptions: true);

    /// <summary>Adds the options to <paramref name="command"/>, with the check that --user has a sandbox.</summary>
    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Add(_level);
        command.Add(_format);
        command.Add(_metrics);
        command.Add(_sandbox);
        command.Add(_user);
        command.Add(_seccomp);
        command.Validators.Add(result =>
        {
            if (result.GetValue(_user) is not null && result.GetValue(_sandbox) == SandboxMode.None)
            {
                result.AddError("--user needs a sandbox (--sandbox namespace or seccomp)");
            }
        });
    }

    /// <summary>
    /// The options given here, as arguments for a child daemon that should log and confine itself
    /// the same way (all but --metrics-listen, which is the parent's own).
    /// </summary>
    public IEnumerable<string> ForChild(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        foreach (Option option in new Option[] { _level, _format, _sandbox, _user, _seccomp })
        {
            if (result.GetResult(option) is { Implicit: false } given)
            {
                yield return option.Name;
                foreach (var token in given.Tokens)
                {
                    yield return token.Value;
                }
            }
        }
    }

    public LogSettings Logging(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new LogSettings(result.GetValue(_level) ?? LogLevel.Information, result.GetValue(_format) ?? LogFormat.Text);
    }

    /// <summary>The logging, and where the metrics are served (null: not served; an in-process collector still reads them).</summary>
    public DaemonTelemetry Telemetry(ParseResult result) => new(Logging(result), result.GetValue(_metrics));

    /// <summary>
    /// Enters the sandbox's namespaces (re-executing the program, so call it before anything is
    /// opened). Null means go on with <paramref name="sandbox"/>; otherwise the daemon is done and
    /// the value is its exit code: 1 when the namespaces cannot be entered (said on stderr as <paramref name="command"/>).
    /// </summary>
    public int? Enter(ParseResult result, NetworkAccess network, string command, out DaemonSandbox sandbox)
    {
        ArgumentNullException.ThrowIfNull(result);
        var mode = result.GetValue(_sandbox) ?? (Tmds.Linux.LibC.geteuid() == 0 ? SandboxMode.Namespace : SandboxMode.None);
        var policy = new SandboxPolicy(mode, result.GetValue(_user), result.GetValue(_seccomp) ?? SeccompDenial.Kill);
        // A metrics listener is reached through the host's network.
        if (network == NetworkAccess.None && result.GetValue(_metrics) is not null)
        {
            network = NetworkAccess.Host;
        }

        sandbox = new DaemonSandbox(policy, network);
        try
        {
            ProcessSandbox.Prepare(policy, network);
            return null;
        }
        catch (SandboxException e)
        {
            Console.Error.WriteLine($"{command}: cannot set up the sandbox: {e.Message}");
            return 1;
        }
    }

    internal static LogLevel? ParseLevel(string text, out string why)
    {
        why = "trace, debug, information, warning, error, critical or none";
        return Enum.TryParse<LogLevel>(text, ignoreCase: true, out var level) && Enum.IsDefined(level) ? level : null;
    }

    private static LogFormat? ParseFormat(string text, out string why)
    {
        why = "text or json";
        return text switch
        {
            "text" => LogFormat.Text,
            "json" => LogFormat.Json,
            _ => null,
        };
    }

    private static SandboxMode? ParseMode(string text, out string why)
    {
        why = "namespace, seccomp or none";
        return text switch
        {
            "namespace" => SandboxMode.Namespace,
            "seccomp" => SandboxMode.Seccomp,
            "none" => SandboxMode.None,
            _ => null,
        };
    }

    private static SeccompDenial? ParseDenial(string text, out string why)
    {
        why = "kill or log";
        return text switch
        {
            "kill" => SeccompDenial.Kill,
            "log" => SeccompDenial.Log,
            _ => null,
        };
    }
}
