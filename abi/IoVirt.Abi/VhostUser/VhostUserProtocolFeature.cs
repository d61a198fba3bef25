namespace IoVirt.Abi.VhostUser;

/// <summary>Protocol feature bit numbers (vhost-user.rst, "Protocol features").</summary>
public static class VhostUserProtocolFeature
{
    public const int Mq = 0;
    public const int LogShmfd = 1;
    public const int Rarp = 2;
    public const int ReplyAck = 3;
    public const int NetMtu = 4;
    public const int BackendReq = 5;
    public const int CrossEndian = 6;
    public const int CryptoSession = 7;
    public const int Pagefault = 8;
    public const int Config = 9;
    public const int BackendSendFd = 10;
    public const int HostNotifier = 11;
    public const int InflightShmfd = 12;
    public const int ResetDevice = 13;
    public const int InbandNotifications = 14;
    public const int ConfigureMemSlots = 15;
    public const int Status = 16;
    public const int XenMmap = 17;
    public const int SharedObject = 18;
    public const int DeviceState = 19;
    public const int Shmem = 20;
}
