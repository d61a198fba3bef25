using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace IoVirt.VhostUser;

/// <summary>
/// vhost-user servers' figures through System.Diagnostics.Metrics (meter "IoVirt.VhostUser"),
/// tagged with each server's socket path: front ends served, connections closed because the
/// front end broke the protocol, and whether one is connected now. Read from the servers when a
/// collector asks. <see cref="VhostUserServiceCollectionExtensions"/> adds every server it makes
/// to the container's instance, if it has one.
/// </summary>
public sealed class VhostUserMetrics : IDisposable
{
    public const string MeterName = "IoVirt.VhostUser";

    private readonly ConcurrentDictionary<VhostUserServer, byte> _servers = new();

    public VhostUserMetrics(IMeterFactory? factory = null)
    {
        Meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        Meter.CreateObservableCounter("iovirt.vhost_user.connections", () => Observe(s => s.Connections), "{connection}", "Front ends served");
        Meter.CreateObservableCounter("iovirt.vhost_user.connection_errors", () => Observe(s => s.ConnectionsClosedForErrors), "{connection}", "Connections closed because the front end broke the protocol");
        Meter.CreateObservableGauge("iovirt.vhost_user.connected", () => Observe(s => s.IsConnected ? 1 : 0), "{connection}", "1 while a front end is connected");
    }

    /// <summary>The meter the instruments are on.</summary>
    public Meter Meter { get; }

    public void Add(VhostUserServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        _servers[server] = 0;
    }

    public void Remove(VhostUserServer server) => _servers.TryRemove(server, out _);

    public void Dispose() => Meter.Dispose();

    private IEnumerable<Measurement<int>> Observe(Func<VhostUserServer, int> value) =>
        _servers.Keys.Select(server => new Measurement<int>(value(server), new KeyValuePair<string, object?>("socket", server.SocketPath)));
}
