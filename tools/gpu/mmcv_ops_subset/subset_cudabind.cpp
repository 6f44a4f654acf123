// CUDA registrations of the subset: each op's device dispatcher
// (DISPATCH_DEVICE_IMPL in csrc/pytorch/*.cpp) gets the kernel launcher
// compiled from mmcv's csrc/pytorch/cuda/*.cu.  Only compiled with CUDA.
#include "pytorch_cpp_helper.hpp"
#include "pytorch_device_registry.hpp"

Tensor NMSCUDAKernelLauncher(Tensor boxes, Tensor scores, float iou_threshold,
                             int offset);

void ROIAlignForwardCUDAKernelLauncher(Tensor input, Tensor rois, Tensor output,
                                       Tensor argmax_y, Tensor argmax_x,
                                       int aligned_height, int aligned_width,
                                       float spatial_scale, int sampling_ratio,
                                       int pool_mode, bool aligned);

void ROIAlignBackwardCUDAKernelLauncher(Tensor grad_output, Tensor rois,
                                        Tensor argmax_y, Tensor argmax_x,
                                        Tensor grad_input, int aligned_height,
                                        int aligned_width, float spatial_scale,
                                        int sampling_ratio, int pool_mode,
                                        bool aligned);

void SigmoidFocalLossForwardCUDAKernelLauncher(Tensor input, Tensor target,
                                               Tensor weight, Tensor output,
                                               const float gamma,
                                               const float alpha);

void SigmoidFocalLossBackwardCUDAKernelLauncher(Tensor input, Tensor target,
                                                Tensor weight,
                                                Tensor grad_input,
                                                const float gamma,
                                                const float alpha);

// the dispatchers (defined in mmcv's csrc/pytorch/*.cpp)
Tensor nms_impl(Tensor boxes, Tensor scores, float iou_threshold, int offset);
void roi_align_forward_impl(Tensor input, Tensor rois, Tensor output,
                            Tensor argmax_y, Tensor argmax_x,
                            int aligned_height, int aligned_width,
                            float spatial_scale, int sampling_ratio,
                            int pool_mode, bool aligned);
void roi_align_backward_impl(Tensor grad_output, Tensor rois, Tensor argmax_y,
                             Tensor argmax_x, Tensor grad_input,
                             int aligned_height, int aligned_width,
                             float spatial_scale, int sampling_ratio,
                             int pool_mode, bool aligned);
void sigmoid_focal_loss_forward_impl(Tensor input, Tensor target, Tensor weight,
                                     Tensor output, float gamma, float alpha);
void sigmoid_focal_loss_backward_impl(Tensor input, Tensor target,
                                      Tensor weight, Tensor grad_input,
                                      float gamma, float alpha);

REGISTER_DEVICE_IMPL(nms_impl, CUDA, NMSCUDAKernelLauncher);
REGISTER_DEVICE_IMPL(roi_align_forward_impl, CUDA,
                     ROIAlignForwardCUDAKernelLauncher);
REGISTER_DEVICE_IMPL(roi_align_backward_impl, CUDA,
                     ROIAlignBackwardCUDAKernelLauncher);
REGISTER_DEVICE_IMPL(sigmoid_focal_loss_forward_impl, CUDA,
                     SigmoidFocalLossForwardCUDAKernelLauncher);
REGISTER_DEVICE_IMPL(sigmoid_focal_loss_backward_impl, CUDA,
                     SigmoidFocalLossBackwardCUDAKernelLauncher);
