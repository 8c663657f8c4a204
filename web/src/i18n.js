// i18n: every user-visible string of the editor, in Vietnamese and English.
// The language follows navigator.language (vi* → Vietnamese, otherwise English) until the
// user picks one; the choice is kept in localStorage. t(key, params) falls back to English,
// then to the key itself, so a missing entry is visible but never breaks a view.
import { createContext, useContext } from 'react';

const dict = {
  en: {
    'app.name': 'flowd',
    'nav.flows': 'Flows', 'nav.runs': 'Runs', 'nav.staff': 'Staff', 'nav.logout': 'Log out',
    'lang.label': 'Language',
    'ws.open': 'Live', 'ws.connecting': 'Connecting…', 'ws.closed': 'Offline',
    'login.title': 'Sign in to flowd', 'login.email': 'E-mail', 'login.password': 'Password',
    'login.submit': 'Sign in', 'login.token': 'Admin API token', 'login.tokenSubmit': 'Use token',
    'login.useToken': 'Use an API token instead', 'login.usePassword': 'Sign in with e-mail and password',
    'login.noSession': 'This server has no password login yet: paste an admin API token.',
    'login.failed': 'Sign-in failed: {msg}', 'login.tokenHint': 'The token is kept in this browser only.',
    'login.badToken': 'The server refused this token.',
    'common.loading': 'Loading…', 'common.error': 'Error: {msg}', 'common.save': 'Save', 'common.cancel': 'Cancel',
    'common.close': 'Close', 'common.delete': 'Delete', 'common.create': 'Create', 'common.refresh': 'Refresh',
    'common.none': '—', 'common.yes': 'Yes', 'common.no': 'No', 'common.add': 'Add', 'common.remove': 'Remove',
    'common.apply': 'Apply', 'common.all': 'All', 'common.name': 'Name', 'common.status': 'Status', 'common.open': 'Open',
    'common.confirmDelete': 'Delete "{name}"? This cannot be undone.',
    'flows.title': 'Flows', 'flows.new': 'New flow', 'flows.import': 'Import', 'flows.export': 'Export',
    'flows.empty': 'No flows yet. Create one or import a flow file.',
    'flows.col.name': 'Name', 'flows.col.active': 'Active version', 'flows.col.lastRun': 'Last run',
    'flows.col.runs24h': 'Runs (24h)', 'flows.col.priority': 'Priority', 'flows.col.updated': 'Updated',
    'flows.newName': 'Name of the new flow', 'flows.defaultName': 'New flow',
    'flows.imported': 'Imported "{name}".', 'flows.importFailed': 'Import failed: {msg}',
    'flows.importLocal': 'The server could not import it; opened as an unsaved local draft.',
    'flows.inactive': 'inactive',
    'editor.save': 'Save', 'editor.saving': 'Saving…', 'editor.saved': 'Saved', 'editor.unsaved': 'Unsaved changes',
    'editor.publish': 'Publish', 'editor.published': 'Published version {v}.', 'editor.activate': 'Activate',
    'editor.deactivate': 'Deactivate', 'editor.activated': 'Activated.', 'editor.deactivated': 'Deactivated.',
    'editor.versions': 'Versions', 'editor.test': 'Test run', 'editor.tidy': 'Tidy layout', 'editor.fit': 'Fit view',
    'editor.undo': 'Undo', 'editor.redo': 'Redo', 'editor.export': 'Export', 'editor.back': 'All flows',
    'editor.local': 'Local draft (not on the server)', 'editor.shortcuts': 'Shortcuts',
    'editor.publishFailed': 'Cannot publish: {n} problem(s).', 'editor.leave': 'You have unsaved changes. Leave anyway?',
    'editor.activeVersion': 'active: v{v}', 'editor.noActive': 'not active',
    'editor.readonlyVersion': 'Viewing version {v}', 'editor.readOnly': 'Read only (admins edit flows)', 'editor.localMissing': 'This local draft is gone (it lives only in this browser tab).',
    'conflict.title': 'Someone else saved this flow',
    'conflict.body': '{who} saved revision {rev} at {at}, after you opened it.',
    'conflict.someone': 'Someone', 'conflict.reload': 'Reload their version', 'conflict.overwrite': 'Overwrite with mine',
    'palette.title': 'Nodes', 'palette.search': 'Search nodes…', 'palette.hint': 'Drag onto the canvas or click to add.',
    'group.triggers': 'Triggers', 'group.conditions': 'Conditions', 'group.actions': 'Actions', 'group.control': 'Control',
    'panel.flow': 'Flow settings', 'panel.node': 'Node', 'panel.id': 'Node id', 'panel.type': 'Type',
    'panel.config': 'Configuration', 'panel.rawJson': 'Raw JSON', 'panel.form': 'Form', 'panel.join': 'Join',
    'panel.joinAll': 'when every incoming branch is done (default)', 'panel.joinAny': 'on the first incoming edge',
    'panel.invalidJson': 'Not valid JSON: {msg}', 'panel.idTaken': 'That id is already used.',
    'panel.multi': '{n} nodes selected', 'panel.nothing': 'Select a node to edit it.',
    'panel.priority': 'Priority (lower runs first)', 'panel.flowName': 'Flow name', 'panel.output': 'Output of the last test run',
    'panel.unknownType': 'Unknown node type: the server does not list it.',
    'form.addItem': 'Add item', 'form.addKey': 'Add field', 'form.key': 'Field', 'form.value': 'Value',
    'form.choose': 'Choose…', 'form.kind': 'Kind', 'form.required': 'required', 'form.unset': '(not set)',
    'form.durationHint': 'e.g. 30s, 15m, 1h, 2d, 1w or 1h30m', 'form.cronHint': 'minute hour day month weekday, e.g. 0 9 * * 1-5',
    'form.json': 'JSON value', 'form.empty': 'No fields.',
    'cond.visual': 'Rules', 'cond.jsonlogic': 'JSON Logic', 'cond.domain': 'Odoo domain',
    'cond.all': 'ALL of (AND)', 'cond.any': 'ANY of (OR)', 'cond.addRule': 'Add rule', 'cond.addGroup': 'Add group',
    'cond.field': 'field, e.g. order.amount', 'cond.value': 'value', 'cond.test': 'Test against sample data',
    'cond.sample': 'Sample data (JSON)', 'cond.result': 'Result: {r}', 'cond.notVisual': 'This rule is too complex for the rule builder; edit it as JSON.',
    'cond.empty': 'No condition (always true).', 'cond.clear': 'Clear',
    'op.==': 'equals', 'op.!=': 'not equals', 'op.>': '>', 'op.>=': '≥', 'op.<': '<', 'op.<=': '≤',
    'op.in': 'is one of', 'op.!in': 'is not one of', 'op.contains': 'contains', 'op.truthy': 'is set', 'op.falsy': 'is empty',
    'tmpl.insert': 'Insert variable…', 'tmpl.preview': 'Preview', 'tmpl.previewError': 'Preview failed: {msg}',
    'tmpl.chars': '{n} characters',
    'picker.loadFailed': 'Could not load the list; type an id.',
    'problems.title': 'Problems', 'problems.none': 'No problems.', 'problems.count': '{e} errors, {w} warnings',
    'problems.flow': 'flow',
    'test.title': 'Test run', 'test.event': 'Event (JSON)', 'test.run': 'Run test', 'test.running': 'Running…',
    'test.result': 'Run {id}: {status}', 'test.clear': 'Clear result', 'test.hint': 'Runs the draft; side effects are recorded, not sent.',
    'test.steps': 'Steps', 'test.noSteps': 'No steps.',
    'versions.title': 'Versions', 'versions.none': 'No published versions yet.', 'versions.activate': 'Activate',
    'versions.view': 'Load into draft', 'versions.active': 'active', 'versions.col.v': 'Version', 'versions.col.at': 'Published',
    'versions.col.by': 'By',
    'runs.title': 'Runs', 'runs.flow': 'Flow', 'runs.status': 'Status', 'runs.empty': 'No runs.',
    'runs.col.id': 'Run', 'runs.col.flow': 'Flow', 'runs.col.status': 'Status', 'runs.col.started': 'Started',
    'runs.col.finished': 'Finished', 'runs.col.record': 'Record', 'runs.cancel': 'Cancel run', 'runs.retry': 'Retry',
    'runs.cancelled': 'Cancel requested.', 'runs.retried': 'Retry started: {id}', 'runs.loadMore': 'Older runs',
    'runs.inspector': 'Run {id}', 'runs.steps': 'Steps', 'runs.step.node': 'Node', 'runs.step.attempt': 'Attempt',
    'runs.step.duration': 'Duration', 'runs.step.output': 'Output', 'runs.step.error': 'Error', 'runs.openFlow': 'Open flow',
    'runs.event': 'Event', 'runs.select': 'Select a run to inspect it.',
    'status.running': 'running', 'status.waiting': 'waiting', 'status.succeeded': 'succeeded', 'status.failed': 'failed',
    'status.cancelled': 'cancelled', 'status.skipped': 'skipped', 'status.pending': 'pending',
    'staff.title': 'Staff', 'staff.teams': 'Teams', 'staff.col.name': 'Name', 'staff.col.email': 'E-mail',
    'staff.col.phone': 'Phone', 'staff.col.roles': 'Roles', 'staff.col.teams': 'Teams', 'staff.col.pages': 'Pages',
    'staff.col.online': 'Online', 'staff.online': 'online', 'staff.offline': 'offline', 'staff.empty': 'No staff yet.',
    'staff.new': 'New staff member', 'staff.teamDomain': 'Domain rule', 'staff.members': 'Members', 'staff.maxPerDay': 'max/day',
    'staff.teamsEmpty': 'No teams yet.', 'staff.newTeam': 'New team', 'staff.setOnline': 'Set online', 'staff.setOffline': 'Set offline',
    'staff.rolesHint': 'comma-separated', 'staff.id': 'Id',
    'keys.title': 'Keyboard shortcuts', 'keys.copy': 'Copy selected nodes', 'keys.paste': 'Paste', 'keys.cut': 'Cut',
    'keys.undo': 'Undo', 'keys.redo': 'Redo', 'keys.delete': 'Delete selection', 'keys.selectAll': 'Select all',
    'keys.save': 'Save', 'keys.fit': 'Fit view', 'keys.tidy': 'Tidy layout', 'keys.multi': 'Add to selection / box select',
    'keys.help': 'Show this help', 'keys.duplicate': 'Duplicate selected nodes', 'keys.deselect': 'Clear the selection', 'keys.search': 'Search the node palette', 'keys.dblclick': 'Double-click the canvas', 'keys.quickAdd': 'Quick add a node there',
    'counter.open': 'Show these runs', 'live.lagged': 'Some live updates were dropped (slow connection): counters may be low.',
    'counter.running': 'running', 'counter.succeeded': 'succeeded', 'counter.failed': 'failed',
    'counter.waiting': 'waiting', 'counter.skipped': 'skipped', 'counter.reset': 'Reset counters',
    'node.cases': '{n} cases', 'node.matchAll': 'all', 'runs.test': 'test', 'runs.reason': 'Reason', 'runs.recordHint': 'record, e.g. order:SO1001',
    'deliveries.title': 'Messages of this run', 'deliveries.channel': 'Channel', 'deliveries.to': 'To', 'deliveries.body': 'Message',
  },
  vi: {
    'app.name': 'flowd',
    'nav.flows': 'Luồng', 'nav.runs': 'Lượt chạy', 'nav.staff': 'Nhân viên', 'nav.logout': 'Đăng xuất',
    'lang.label': 'Ngôn ngữ',
    'ws.open': 'Trực tiếp', 'ws.connecting': 'Đang kết nối…', 'ws.closed': 'Mất kết nối',
    'login.title': 'Đăng nhập flowd', 'login.email': 'Email', 'login.password': 'Mật khẩu',
    'login.submit': 'Đăng nhập', 'login.token': 'Mã API quản trị', 'login.tokenSubmit': 'Dùng mã',
    'login.useToken': 'Dùng mã API thay thế', 'login.usePassword': 'Đăng nhập bằng email và mật khẩu',
    'login.noSession': 'Máy chủ này chưa hỗ trợ đăng nhập bằng mật khẩu: hãy dán mã API quản trị.',
    'login.failed': 'Đăng nhập thất bại: {msg}', 'login.tokenHint': 'Mã chỉ được lưu trong trình duyệt này.',
    'login.badToken': 'Máy chủ từ chối mã này.',
    'common.loading': 'Đang tải…', 'common.error': 'Lỗi: {msg}', 'common.save': 'Lưu', 'common.cancel': 'Hủy',
    'common.close': 'Đóng', 'common.delete': 'Xóa', 'common.create': 'Tạo', 'common.refresh': 'Làm mới',
    'common.none': '—', 'common.yes': 'Có', 'common.no': 'Không', 'common.add': 'Thêm', 'common.remove': 'Bỏ',
    'common.apply': 'Áp dụng', 'common.all': 'Tất cả', 'common.name': 'Tên', 'common.status': 'Trạng thái', 'common.open': 'Mở',
    'common.confirmDelete': 'Xóa “{name}”? Không thể hoàn tác.',
    'flows.title': 'Luồng tự động', 'flows.new': 'Luồng mới', 'flows.import': 'Nhập', 'flows.export': 'Xuất',
    'flows.empty': 'Chưa có luồng nào. Hãy tạo mới hoặc nhập từ tệp.',
    'flows.col.name': 'Tên', 'flows.col.active': 'Phiên bản đang chạy', 'flows.col.lastRun': 'Lượt chạy gần nhất',
    'flows.col.runs24h': 'Số lượt (24 giờ)', 'flows.col.priority': 'Độ ưu tiên', 'flows.col.updated': 'Cập nhật',
    'flows.newName': 'Tên luồng mới', 'flows.defaultName': 'Luồng mới',
    'flows.imported': 'Đã nhập “{name}”.', 'flows.importFailed': 'Nhập thất bại: {msg}',
    'flows.importLocal': 'Máy chủ không nhập được; đã mở thành bản nháp cục bộ chưa lưu.',
    'flows.inactive': 'không hoạt động',
    'editor.save': 'Lưu', 'editor.saving': 'Đang lưu…', 'editor.saved': 'Đã lưu', 'editor.unsaved': 'Có thay đổi chưa lưu',
    'editor.publish': 'Xuất bản', 'editor.published': 'Đã xuất bản phiên bản {v}.', 'editor.activate': 'Kích hoạt',
    'editor.deactivate': 'Tắt', 'editor.activated': 'Đã kích hoạt.', 'editor.deactivated': 'Đã tắt.',
    'editor.versions': 'Phiên bản', 'editor.test': 'Chạy thử', 'editor.tidy': 'Sắp xếp gọn', 'editor.fit': 'Vừa khung',
    'editor.undo': 'Hoàn tác', 'editor.redo': 'Làm lại', 'editor.export': 'Xuất', 'editor.back': 'Tất cả luồng',
    'editor.local': 'Bản nháp cục bộ (chưa có trên máy chủ)', 'editor.shortcuts': 'Phím tắt',
    'editor.publishFailed': 'Không thể xuất bản: {n} lỗi.', 'editor.leave': 'Có thay đổi chưa lưu. Vẫn rời đi?',
    'editor.activeVersion': 'đang chạy: v{v}', 'editor.noActive': 'chưa kích hoạt',
    'editor.readonlyVersion': 'Đang xem phiên bản {v}', 'editor.readOnly': 'Chỉ xem (quản trị viên mới sửa được luồng)', 'editor.localMissing': 'Bản nháp cục bộ này không còn (nó chỉ nằm trong thẻ trình duyệt này).',
    'conflict.title': 'Người khác đã lưu luồng này',
    'conflict.body': '{who} đã lưu bản sửa đổi {rev} lúc {at}, sau khi bạn mở luồng.',
    'conflict.someone': 'Một người dùng', 'conflict.reload': 'Tải lại bản của họ', 'conflict.overwrite': 'Ghi đè bằng bản của tôi',
    'palette.title': 'Nút', 'palette.search': 'Tìm nút…', 'palette.hint': 'Kéo vào khung vẽ hoặc bấm để thêm.',
    'group.triggers': 'Kích hoạt', 'group.conditions': 'Điều kiện', 'group.actions': 'Hành động', 'group.control': 'Điều khiển',
    'panel.flow': 'Thiết lập luồng', 'panel.node': 'Nút', 'panel.id': 'Mã nút', 'panel.type': 'Loại',
    'panel.config': 'Cấu hình', 'panel.rawJson': 'JSON thô', 'panel.form': 'Biểu mẫu', 'panel.join': 'Hợp nhánh',
    'panel.joinAll': 'khi mọi nhánh vào đã xong (mặc định)', 'panel.joinAny': 'ngay khi nhánh vào đầu tiên tới',
    'panel.invalidJson': 'JSON không hợp lệ: {msg}', 'panel.idTaken': 'Mã này đã được dùng.',
    'panel.multi': 'Đã chọn {n} nút', 'panel.nothing': 'Chọn một nút để chỉnh sửa.',
    'panel.priority': 'Độ ưu tiên (số nhỏ chạy trước)', 'panel.flowName': 'Tên luồng', 'panel.output': 'Kết quả của lần chạy thử gần nhất',
    'panel.unknownType': 'Loại nút không xác định: máy chủ không liệt kê loại này.',
    'form.addItem': 'Thêm mục', 'form.addKey': 'Thêm trường', 'form.key': 'Trường', 'form.value': 'Giá trị',
    'form.choose': 'Chọn…', 'form.kind': 'Kiểu', 'form.required': 'bắt buộc', 'form.unset': '(chưa đặt)',
    'form.durationHint': 'ví dụ 30s, 15m, 1h, 2d, 1w hoặc 1h30m', 'form.cronHint': 'phút giờ ngày tháng thứ, ví dụ 0 9 * * 1-5',
    'form.json': 'Giá trị JSON', 'form.empty': 'Không có trường nào.',
    'cond.visual': 'Quy tắc', 'cond.jsonlogic': 'JSON Logic', 'cond.domain': 'Miền Odoo',
    'cond.all': 'TẤT CẢ (VÀ)', 'cond.any': 'BẤT KỲ (HOẶC)', 'cond.addRule': 'Thêm quy tắc', 'cond.addGroup': 'Thêm nhóm',
    'cond.field': 'trường, ví dụ order.amount', 'cond.value': 'giá trị', 'cond.test': 'Thử với dữ liệu mẫu',
    'cond.sample': 'Dữ liệu mẫu (JSON)', 'cond.result': 'Kết quả: {r}', 'cond.notVisual': 'Quy tắc này quá phức tạp cho trình dựng; hãy sửa dạng JSON.',
    'cond.empty': 'Không có điều kiện (luôn đúng).', 'cond.clear': 'Xóa',
    'op.==': 'bằng', 'op.!=': 'khác', 'op.>': '>', 'op.>=': '≥', 'op.<': '<', 'op.<=': '≤',
    'op.in': 'thuộc', 'op.!in': 'không thuộc', 'op.contains': 'chứa', 'op.truthy': 'có giá trị', 'op.falsy': 'để trống',
    'tmpl.insert': 'Chèn biến…', 'tmpl.preview': 'Xem trước', 'tmpl.previewError': 'Không xem trước được: {msg}',
    'tmpl.chars': '{n} ký tự',
    'picker.loadFailed': 'Không tải được danh sách; hãy nhập mã.',
    'problems.title': 'Vấn đề', 'problems.none': 'Không có vấn đề nào.', 'problems.count': '{e} lỗi, {w} cảnh báo',
    'problems.flow': 'luồng',
    'test.title': 'Chạy thử', 'test.event': 'Sự kiện (JSON)', 'test.run': 'Chạy thử', 'test.running': 'Đang chạy…',
    'test.result': 'Lượt {id}: {status}', 'test.clear': 'Xóa kết quả', 'test.hint': 'Chạy bản nháp; các tác động chỉ được ghi lại, không gửi đi.',
    'test.steps': 'Các bước', 'test.noSteps': 'Không có bước nào.',
    'versions.title': 'Phiên bản', 'versions.none': 'Chưa có phiên bản nào được xuất bản.', 'versions.activate': 'Kích hoạt',
    'versions.view': 'Nạp vào bản nháp', 'versions.active': 'đang chạy', 'versions.col.v': 'Phiên bản', 'versions.col.at': 'Xuất bản lúc',
    'versions.col.by': 'Người xuất bản',
    'runs.title': 'Lượt chạy', 'runs.flow': 'Luồng', 'runs.status': 'Trạng thái', 'runs.empty': 'Chưa có lượt chạy nào.',
    'runs.col.id': 'Lượt', 'runs.col.flow': 'Luồng', 'runs.col.status': 'Trạng thái', 'runs.col.started': 'Bắt đầu',
    'runs.col.finished': 'Kết thúc', 'runs.col.record': 'Bản ghi', 'runs.cancel': 'Hủy lượt chạy', 'runs.retry': 'Chạy lại',
    'runs.cancelled': 'Đã yêu cầu hủy.', 'runs.retried': 'Đã chạy lại: {id}', 'runs.loadMore': 'Lượt cũ hơn',
    'runs.inspector': 'Lượt {id}', 'runs.steps': 'Các bước', 'runs.step.node': 'Nút', 'runs.step.attempt': 'Lần thử',
    'runs.step.duration': 'Thời gian', 'runs.step.output': 'Kết quả', 'runs.step.error': 'Lỗi', 'runs.openFlow': 'Mở luồng',
    'runs.event': 'Sự kiện', 'runs.select': 'Chọn một lượt chạy để xem chi tiết.',
    'status.running': 'đang chạy', 'status.waiting': 'đang chờ', 'status.succeeded': 'thành công', 'status.failed': 'thất bại',
    'status.cancelled': 'đã hủy', 'status.skipped': 'bỏ qua', 'status.pending': 'chờ xử lý',
    'staff.title': 'Nhân viên', 'staff.teams': 'Nhóm bán hàng', 'staff.col.name': 'Họ tên', 'staff.col.email': 'Email',
    'staff.col.phone': 'Điện thoại', 'staff.col.roles': 'Vai trò', 'staff.col.teams': 'Nhóm', 'staff.col.pages': 'Trang',
    'staff.col.online': 'Trực tuyến', 'staff.online': 'trực tuyến', 'staff.offline': 'ngoại tuyến', 'staff.empty': 'Chưa có nhân viên nào.',
    'staff.new': 'Thêm nhân viên', 'staff.teamDomain': 'Quy tắc miền', 'staff.members': 'Thành viên', 'staff.maxPerDay': 'tối đa/ngày',
    'staff.teamsEmpty': 'Chưa có nhóm nào.', 'staff.newTeam': 'Thêm nhóm', 'staff.setOnline': 'Đặt trực tuyến', 'staff.setOffline': 'Đặt ngoại tuyến',
    'staff.rolesHint': 'cách nhau bởi dấu phẩy', 'staff.id': 'Mã',
    'keys.title': 'Phím tắt', 'keys.copy': 'Sao chép các nút đã chọn', 'keys.paste': 'Dán', 'keys.cut': 'Cắt',
    'keys.undo': 'Hoàn tác', 'keys.redo': 'Làm lại', 'keys.delete': 'Xóa mục đã chọn', 'keys.selectAll': 'Chọn tất cả',
    'keys.save': 'Lưu', 'keys.fit': 'Vừa khung', 'keys.tidy': 'Sắp xếp gọn', 'keys.multi': 'Chọn thêm / chọn theo vùng',
    'keys.help': 'Hiện trợ giúp này', 'keys.duplicate': 'Nhân bản các nút đã chọn', 'keys.deselect': 'Bỏ chọn', 'keys.search': 'Tìm trong bảng nút', 'keys.dblclick': 'Nhấp đúp vào khung vẽ', 'keys.quickAdd': 'Thêm nhanh một nút tại đó',
    'counter.open': 'Xem các lượt chạy này', 'live.lagged': 'Một số cập nhật trực tiếp bị bỏ qua (kết nối chậm): bộ đếm có thể thiếu.',
    'counter.running': 'đang chạy', 'counter.succeeded': 'thành công', 'counter.failed': 'thất bại',
    'counter.waiting': 'đang chờ', 'counter.skipped': 'bỏ qua', 'counter.reset': 'Đặt lại bộ đếm',
    'node.cases': '{n} trường hợp', 'node.matchAll': 'tất cả', 'runs.test': 'chạy thử', 'runs.reason': 'Lý do', 'runs.recordHint': 'bản ghi, ví dụ order:SO1001',
    'type.trigger.record': 'Bản ghi thay đổi', 'type.trigger.event': 'Sự kiện', 'type.trigger.schedule': 'Theo lịch',
    'type.trigger.manual': 'Chạy thủ công', 'type.branch.if': 'Nếu', 'type.branch.switch': 'Rẽ nhánh', 'type.delay': 'Chờ một lúc',
    'type.wait.event': 'Chờ sự kiện', 'type.set': 'Đặt biến', 'type.stop': 'Dừng', 'type.action.update_record': 'Cập nhật bản ghi',
    'type.action.assign': 'Phân công', 'type.action.create_task': 'Tạo công việc', 'type.action.send_sms': 'Gửi SMS',
    'type.action.send_email': 'Gửi email', 'type.action.robocall': 'Gọi tự động', 'type.action.send_message': 'Gửi tin nhắn',
    'type.action.http': 'Gọi HTTP', 'type.action.notify': 'Thông báo nhân viên',
    'deliveries.title': 'Tin nhắn của lượt chạy', 'deliveries.channel': 'Kênh', 'deliveries.to': 'Người nhận', 'deliveries.body': 'Nội dung',
  },
};

export const LANGS = [{ code: 'vi', label: 'Tiếng Việt' }, { code: 'en', label: 'English' }];
const LANG_KEY = 'flowd.lang';

export function detectLang() {
  try { const s = localStorage.getItem(LANG_KEY); if (s && dict[s]) return s; } catch { /* ignore */ }
  const nav = (typeof navigator !== 'undefined' && (navigator.language || '')) || '';
  return nav.toLowerCase().startsWith('vi') ? 'vi' : 'en';
}

export function saveLang(code) { try { localStorage.setItem(LANG_KEY, code); } catch { /* ignore */ } }

export function translate(lang, key, params) {
  let s = (dict[lang] && dict[lang][key]) ?? dict.en[key] ?? key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] !== undefined ? String(params[k]) : m));
  return s;
}

/* For tests and tooling: keys present in one language but not the other. */
export function missingKeys() {
  const en = Object.keys(dict.en);
  const vi = Object.keys(dict.vi);
  // type.* entries exist only in Vietnamese: English uses the server's own titles.
  return { vi: en.filter((k) => !(k in dict.vi)), en: vi.filter((k) => !(k in dict.en) && !k.startsWith('type.')) };
}

export const I18nContext = createContext({ lang: 'en', t: (k, p) => translate('en', k, p), setLang: () => {} });
export function useI18n() { return useContext(I18nContext); }
export function useT() { return useContext(I18nContext).t; }

/* A node type's title in the UI language: our own translation when there is one, else the
 * title the server gives (English). */
export function typeTitle(t, typeDef, type) {
  const name = typeDef ? typeDef.name : type;
  const k = `type.${name}`;
  const v = t(k);
  return v !== k ? v : typeDef ? typeDef.title : String(type || '');
}

export function fmtTime(lang, v) {
  if (!v) return '';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toLocaleString(lang === 'vi' ? 'vi-VN' : 'en-GB', { dateStyle: 'short', timeStyle: 'medium' });
}
