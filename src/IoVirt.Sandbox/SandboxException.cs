namespace IoVirt.Sandbox;

/// <summary>The sandbox could not be set up as asked; the daemon must not serve unconfined.</summary>
public sealed class SandboxException(string message) : Exception(message);
