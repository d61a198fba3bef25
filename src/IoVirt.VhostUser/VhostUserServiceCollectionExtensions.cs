using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoVirt.VhostUser;

/// <summary>Composition of a vhost-user back end: register a device model, get a server for it.</summary>
public static class VhostUserServiceCollectionExtensions
{
    /// <summary>
    /// Registers <paramref name="device"/> and a <see cref="VhostUserServer"/> that serves it on
    /// <paramref name="socketPath"/> (logging through the container's <see cref="ILoggerFactory"/>, if any).
    /// </summary>
    public static IServiceCollection AddVhostUserBackend(
        this IServiceCollection services, string socketPath, Func<IServiceProvider, VirtioDeviceModel> device, TimeSpan busyPoll = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(device);
        services.AddSingleton(provider =>
        {
            var model = provider.GetRequiredService<VirtioDeviceModel>();
            var logs = provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
            return new VhostUserServer(socketPath, model, logs.CreateLogger($"iovirt.{model.Name}"), busyPoll);
        });
        return services;
    }
}
