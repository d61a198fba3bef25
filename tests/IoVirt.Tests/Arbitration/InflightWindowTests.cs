using IoVirt.Arbitration;

namespace IoVirt.Tests.Arbitration;

/// <summary>
/// The in-flight window against a modelled device that serves 8 requests at once and queues
/// the rest in order (so latency grows past 8 in flight): the window settles where latency
/// starts to grow, keeps the device busy, and follows a device that halves its speed.
/// </summary>
public class InflightWindowTests
{
    private const int Channels = 8;
    private const double Cost = 10_000;

    [Fact]
    public void The_window_settles_where_latency_starts_to_grow_and_capacity_is_measured()
    {
        var window = new InflightWindow(minimum: 1, maximum: 256);
        var device = new QueueingDevice(Channels);
        device.Run(window, requests: 200_000, speed: _ => 1.0);

        Assert.InRange(window.Limit, Channels, 2 * Channels);
        Assert.InRange(window.Capacity, 0.9 * Channels * 1e9, 1.1 * Channels * 1e9);
        Assert.True(device.BusyFraction >= 0.95, $"the device was busy {device.BusyFraction:P1} of the time");
    }

    [Fact]
    public void A_device_that_halves_its_speed_is_followed()
    {
        var window = new InflightWindow(minimum: 1, maximum: 256);
        var device = new QueueingDevice(Channels);
        device.Run(window, requests: 300_000, speed: n => n < 150_000 ? 1.0 : 0.5);

        Assert.InRange(window.Capacity, 0.9 * Channels * 0.5e9, 1.1 * Channels * 0.5e9);
        Assert.InRange(window.Limit, Channels, 2 * Channels);
    }

    /// <summary>A FIFO device with a number of identical servers; requests are kept at the window's limit.</summary>
    private sealed class QueueingDevice(int channels)
    {
        private long _busy;
        private long _end;

        public double BusyFraction => (double)_busy / (channels * (double)_end);

        public void Run(InflightWindow window, int requests, Func<int, double> speed)
        {
            var free = new PriorityQueue<int, long>();
            for (var c = 0; c < channels; c++)
            {
                free.Enqueue(c, 0);
            }

            var outstanding = new PriorityQueue<(long Sent, int InFlight), long>();
            long now = 0;
            for (var done = 0; done < requests;)
            {
                while (outstanding.Count < window.Limit)
                {
                    free.TryDequeue(out var channel, out var freeAt);
                    var service = (long)(Cost / speed(done));
                    var finish = Math.Max(now, freeAt) + service;
                    free.Enqueue(channel, finish);
                    _busy += service;
                    outstanding.Enqueue((now, outstanding.Count + 1), finish);
                }

                outstanding.TryDequeue(out var request, out var completedAt);
                now = completedAt;
                window.Completed(Cost, now - request.Sent, now, request.InFlight);
                done++;
            }

            _end = now;
        }
    }
}
