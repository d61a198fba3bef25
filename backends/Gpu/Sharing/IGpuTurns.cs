namespace IoVirt.Backends.Gpu.Sharing;

/// <summary>
/// A guest's turns on a GPU other guests share: a device takes a turn before it hands the GPU
/// work (a 3D submission or transfer) and ends it once that work's fence has retired, so the
/// time between is the GPU's alone and is charged to this guest.
/// </summary>
public interface IGpuTurns
{
    /// <summary>Waits until this guest may use the GPU.</summary>
    void TakeTurn();

    /// <summary>
    /// The work since <see cref="TakeTurn"/> has finished on the GPU. <paramref name="moreQueued"/>:
    /// the guest has more commands waiting on its queue, so it still wants the GPU.
    /// </summary>
    void EndTurn(bool moreQueued);

    /// <summary>The guest's queue stopped or is gone (a ring stop, a device reset): what it had queued will not come now.</summary>
    void Withdraw();
}
