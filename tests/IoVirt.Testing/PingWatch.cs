using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace IoVirt.Testing;

/// <summary>
/// Pings an address from a network namespace every <see cref="Interval"/> until disposed, and says
/// how long the longest run of unanswered echo requests between two answered ones lasted: the
/// time a migrating guest was unreachable.
/// </summary>
public sealed partial class PingWatch : IDisposable
{
    /// <summary>Time between echo requests (below 0.2 s ping needs root, which these tests have).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    private readonly Process _ping;
    private readonly List<(int Sequence, DateTimeOffset At)> _answered = [];
    private readonly Task _reader;

    public PingWatch(NetNamespace netNamespace, string address)
    {
        ArgumentNullException.ThrowIfNull(netNamespace);
        var info = new ProcessStartInfo(netNamespace.ExecPrefix[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in netNamespace.ExecPrefix.Skip(1).Concat(["ping", "-n", "-i", Interval.TotalSeconds.ToString(CultureInfo.InvariantCulture), address]))
        {
            info.ArgumentList.Add(arg);
        }

        _ping = Process.Start(info) ?? throw new InvalidOperationException("could not start ping");
        _reader = Task.Run(() =>
        {
            while (_ping.StandardOutput.ReadLine() is { } line)
            {
                if (Reply().Match(line) is { Success: true } reply)
                {
                    lock (_answered)
                    {
                        _answered.Add((int.Parse(reply.Groups[1].ValueSpan, CultureInfo.InvariantCulture), DateTimeOffset.UtcNow));
                    }
                }
            }
        });
    }

    /// <summary>Echo requests answered so far.</summary>
    public int Answered
    {
        get
        {
            lock (_answered)
            {
                return _answered.Count;
            }
        }
    }

    /// <summary>Echo requests answered after <paramref name="moment"/>.</summary>
    public int AnsweredAfter(DateTimeOffset moment)
    {
        lock (_answered)
        {
            return _answered.Count(answer => answer.At > moment);
        }
    }

    /// <summary>The longest gap between two answered requests, as requests unanswered times <see cref="Interval"/>.</summary>
    public TimeSpan LongestSilence
    {
        get
        {
            lock (_answered)
            {
                var longest = 0;
                for (var i = 1; i < _answered.Count; i++)
                {
                    longest = Math.Max(longest, _answered[i].Sequence - _answered[i - 1].Sequence - 1);
                }

                return Interval * longest;
            }
        }
    }

    public void Dispose()
    {
        if (!_ping.HasExited)
        {
            _ping.Kill();
        }

        _ping.WaitForExit();
        _reader.Wait(TimeSpan.FromSeconds(5));
        _ping.Dispose();
    }

    [GeneratedRegex(@"icmp_seq=(\d+) ")]
    private static partial Regex Reply();
}
