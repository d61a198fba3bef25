namespace IoVirt.Sandbox;

/// <summary>What a confined daemon does with the network once it serves.</summary>
public enum NetworkAccess
{
    /// <summary>Nothing: it gets a network namespace of its own, with no interface but loopback.</summary>
    None,

    /// <summary>It keeps the host's network for what it opened before confinement (a TAP, a metrics listener).</summary>
    Host,

    /// <summary>
    /// It also opens TCP connections while serving (a Ceph client reaches OSDs and monitors as
    /// the cluster map changes): the host's network, with socket (IPv4 and IPv6 only) and connect allowed.
    /// </summary>
    Connects,
}
