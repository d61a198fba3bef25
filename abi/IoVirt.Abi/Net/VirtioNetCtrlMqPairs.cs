using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Net;

/// <summary>Data of the MQ VQ_PAIRS_SET command (struct virtio_net_ctrl_mq, virtio 1.2 §5.1.6.5.6): virtqueue_pairs, le16.</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioNetCtrlMqPairs
{
    public const int Size = 2;

    private ushort _virtqueuePairs;

    /// <summary>Queue pairs to use, <see cref="VirtioNetCtrlMq.VqPairsMin"/> to <see cref="VirtioNetCtrlMq.VqPairsMax"/> (le16).</summary>
    public ushort VirtqueuePairs { readonly get => LittleEndian.ToHost(_virtqueuePairs); set => _virtqueuePairs = LittleEndian.FromHost(value); }
}
