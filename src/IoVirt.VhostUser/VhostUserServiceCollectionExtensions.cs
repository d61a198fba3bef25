using IoVirt.Devices;
using IoVirt.Interop;
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
        this IServiceCollection services, string socketPath, Func<IServiceProvider, VirtioDeviceModel> device, TimeSpan busyPoll = default) =>
        services.AddKeyedVhostUserBackend(null, socketPath, device, busyPoll);

    /// <summary>
    /// As <see cref="AddVhostUserBackend"/>, with the device and the server registered under
    /// <paramref name="key"/> (null: unkeyed), so that one container can hold several back ends.
    /// With <paramref name="inherited"/>, a socket already listening on <paramref name="socketPath"/>
    /// (socket activation), the server serves on it instead of binding the path. A
    /// <see cref="VhostUserMetrics"/> in the container gets the server's figures.
    /// </summary>
    public static IServiceCollection AddKeyedVhostUserBackend(
        this IServiceCollection services, object? key, string socketPath, Func<IServiceProvider, VirtioDeviceModel> device, TimeSpan busyPoll = default, UnixSocket? inherited = null) =>
        services.AddKeyedServer(key, device, (model, log) =>
            inherited is null ? new VhostUserServer(socketPath, model, log, busyPoll) : new VhostUserServer(inherited, socketPath, model, log, busyPoll));

    /// <summary>
    /// As <see cref="AddKeyedVhostUserBackend"/>, with a server that serves <paramref name="connection"/>,
    /// a front end's connection a management layer passed, named <paramref name="name"/>, and ends
    /// with it (<see cref="VhostUserServer.ForConnection"/>).
    /// </summary>
    public static IServiceCollection AddKeyedVhostUserConnection(
        this IServiceCollection services, object? key, UnixSocket connection, string name, Func<IServiceProvider, VirtioDeviceModel> device, TimeSpan busyPoll = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return services.AddKeyedServer(key, device, (model, log) => VhostUserServer.ForConnection(connection, name, model, log, busyPoll));
    }

    private static IServiceCollection AddKeyedServer(
        this IServiceCollection services, object? key, Func<IServiceProvider, VirtioDeviceModel> device, Func<VirtioDeviceModel, ILogger, VhostUserServer> server)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(device);
        services.AddKeyedSingleton(key, (provider, _) => device(provider));
        services.AddKeyedSingleton(key, (provider, _) =>
        {
            var model = provider.GetRequiredKeyedService<VirtioDeviceModel>(key);
            var logs = provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
            var made = server(model, logs.CreateLogger($"iovirt.{model.Name}"));
            provider.GetService<VhostUserMetrics>()?.Add(made);
            return made;
        });
        return services;
    }
}
