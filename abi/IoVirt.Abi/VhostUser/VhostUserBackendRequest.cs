namespace IoVirt.Abi.VhostUser;

/// <summary>Back-end to front-end request codes on the back-end channel (vhost-user.rst, "Back-end message types").</summary>
public enum VhostUserBackendRequest : uint
{
    None = 0,
    IotlbMsg = 1,
    ConfigChangeMsg = 2,
    VringHostNotifierMsg = 3,
    VringCall = 4,
    VringErr = 5,
    SharedObjectAdd = 6,
    SharedObjectRemove = 7,
    SharedObjectLookup = 8,
    ShmemMap = 9,
    ShmemUnmap = 10,
}
