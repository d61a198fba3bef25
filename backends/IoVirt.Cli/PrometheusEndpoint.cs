using System.Net;
using IoVirt.Arbitration;
using IoVirt.Backends.Blk;
using IoVirt.Backends.Net;
using IoVirt.VhostUser;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace IoVirt.Cli;

/// <summary>
/// Serves every IoVirt meter of the process in Prometheus text format, through OpenTelemetry's
/// exporter on an HttpListener. Started before the daemon confines itself: the listening socket
/// is bound then, and afterwards only accepted on.
/// </summary>
internal static class PrometheusEndpoint
{
    /// <summary>Binds <paramref name="endpoint"/> and serves there until the provider is disposed; null, with an error logged, when it cannot be bound.</summary>
    public static MeterProvider? Start(MetricsEndpoint endpoint, ILogger log)
    {
        try
        {
            var provider = Sdk.CreateMeterProviderBuilder()
                .ConfigureResource(resource => resource.AddService("iovirt"))
                .AddMeter(BlkMetrics.MeterName, NetMetrics.MeterName, TenantMetrics.MeterName, VhostUserMetrics.MeterName)
                .AddPrometheusHttpListener(options =>
                {
                    options.Host = endpoint.Host;
                    options.Port = endpoint.Port;
                })
                .Build();
            log.LogInformation("metrics on {Url}", endpoint.Url);
            return provider;
        }
        catch (InvalidOperationException e) when (e.InnerException is HttpListenerException listener)
        {
            log.LogError("cannot serve metrics on {Url}: {Reason}", endpoint.Url, listener.Message);
            return null;
        }
    }
}
