"""Foresight perception: from camera images to what an agent needs.

Plain torch / OpenCV / numpy / gymnasium code; knows nothing of SB3 or of our envs.

Modules (imported on use, so ``import perception`` stays cheap):
    augment       batched random shift (DrQ) and colour jitter, uint8 in -> uint8 out
    encoders      NatureCNN, ImpalaCNN, SpatialSoftmaxEncoder, make_encoder
    fusion        DictEncoder: images + proprioception -> one feature vector
    ssl           autoencoder, CURL contrastive and inverse-dynamics objectives
    frames        collect_frames from any gymnasium env, FrameDataset (.npz)
    pretrain      the SSL training loop and PretrainConfig
    checkpoint    save_encoder / load_encoder (weights_only, no pickle)
    probe         linear probe R^2 of frozen features
    visualize     PNGs of reconstructions and nearest neighbours
    localization  RGB-D object localisation with confidence and an explicit "not visible"
    wrappers      ObjectLocalizationWrapper: camera observations -> positions + confidence
"""
