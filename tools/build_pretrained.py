"""Build the pretrained weights that lesson 08 ships: bpcourse/pretrained/digits04_mlp.npz.

    python tools/build_pretrained.py          # about 10 s of CPU; deterministic (seeded, one BLAS thread)

The model is ``bpcourse.transfer.pretrain()``: the lesson's MLP (64 → 128 → 128 → 5) trained with
Adam for 10 epochs on every training image of the digits 0–4 and its 8 one-pixel shifts, each under 4
random lightings drawn like those of the lesson's lit target (19 440 images). The lesson never trains it at run time
(nothing may be downloaded or take long there); tests/test_transfer.py checks that this script
rebuilds the shipped file.
"""
import bpcourse as bp
from bpcourse import transfer


def main():
    model, history = transfer.pretrain()
    transfer.WEIGHTS.parent.mkdir(exist_ok=True)
    bp.save(model, transfer.WEIGHTS)
    for target in transfer.TARGETS:
        x, y = transfer.source_data(target).test
        print(f"source test accuracy ({target} digits 0–4): {100 * transfer.accuracy(model, x, y):.1f}%")
    print(f"last epoch: train loss {history.train_loss[-1]:.4f}, lit validation accuracy "
          f"{100 * history.val_acc[-1]:.1f}%")
    print(f"wrote {transfer.WEIGHTS} ({transfer.WEIGHTS.stat().st_size / 1000:.0f} kB, "
          f"{sum(p.data.size for p in model.parameters())} parameters)")


if __name__ == "__main__":
    main()
